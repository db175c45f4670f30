#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a result:
#   scripts/setup.sh run    install what is missing, build, and run the main job (the quick start)
#   scripts/setup.sh test   install what is missing, build, and run the whole test suite
# Environment: BUILD_DIR (default build), JOBS (default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
if [[ "$mode" != run && "$mode" != test ]]; then
  echo "usage: scripts/setup.sh run|test" >&2
  exit 2
fi

# Debian packages the build and the main job need (README.md, "Dependencies", says why each is here).
packages=(
  build-essential cmake ninja-build pkg-config
  tao-pegtl-dev libyaml-cpp-dev libboost-graph-dev catch2
  libcli11-dev libfmt-dev nlohmann-json3-dev
  libtorch-dev libssl-dev zlib1g-dev libtcmalloc-minimal4 gnuplot-nox libarchive-dev
  dataset-fashion-mnist
)

# The test suite also starts a one-node Slurm cluster (tests/cli/test_slurm.cc), kills runs at a
# chosen system call and makes files unreadable with strace, and writes hostile archives and data
# files with python3 (tests/cli/test_faults.cc).
# Exports are loaded back in Python's PyTorch (tests/cli/test_compress.cc, test_interop.cc), and
# ONNX export needs libonnx and OpenCV's DNN module (optional in a build: README, "Dependencies").
# Neovim is the real client of `whittle lsp` (tests/cli/test_lsp_client.cc). bubblewrap is the
# sandbox in which `whittle verify` runs a submission's network scripted in PyTorch (tests/cli/test_untrusted.cc).
[[ "$mode" == test ]] && packages+=(slurm-wlm munge strace python3 python3-torch libonnx-dev libopencv-dnn-dev neovim bubblewrap)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== installing: ${missing[*]}"
  sudo=""
  if [[ $(id -u) != 0 ]]; then
    if ! command -v sudo >/dev/null; then
      echo "error: these Debian packages are missing: ${missing[*]}" >&2
      echo "  run this script as root, or install them with: apt-get install ${missing[*]}" >&2
      exit 1
    fi
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
echo "== building in $build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs"

if [[ "$mode" == test ]]; then
  echo "== testing"
  ctest --test-dir "$build" --output-on-failure -j "$jobs"
else
  echo "== main job: the quick start (Fashion-MNIST, a small CNN, pruning with learning-rate rewinding)"
  "$build/runtime/whittle" lint pipelines/*.recipe >/dev/null
  "$build/runtime/whittle" run pipelines/quickstart.recipe
fi
