#!/bin/bash
# Builds whittle against the CUDA LibTorch inside an installed PyTorch (2.6 or later: the C++11 string
# ABI), on a machine where Debian's packages cannot be installed: the other dependencies come as
# Debian 12 .deb files unpacked with dpkg -x (docs/training.md, "GPU build").
#   scripts/gpu_build.sh DEB_DIR [BUILD_DIR]
# DEB_DIR holds, fetched on a Debian 12 machine with `apt-get download`: tao-pegtl-dev libyaml-cpp-dev
# libyaml-cpp0.7 libfmt-dev libfmt9 libcli11-dev nlohmann-json3-dev libboost1.81-dev libssl-dev
# zlib1g-dev. The program is BUILD_DIR/runtime/whittle (default /tmp/build-gpu).
set -eo pipefail
cd "$(dirname "$0")/.."
debs=${1:?usage: scripts/gpu_build.sh DEB_DIR [BUILD_DIR]}
build=${2:-/tmp/build-gpu}
deps=$build/debian-deps
if [ ! -f "$deps/.unpacked" ]; then
  rm -rf "$deps" && mkdir -p "$deps"
  for f in "$debs"/*.deb; do dpkg -x "$f" "$deps"; done
  # zlib1g-dev's libz.so points at Debian's libz.so.1.2.13; use this machine's libz.so.1.
  ln -sf "$(ls /lib/x86_64-linux-gnu/libz.so.1* | head -1)" "$deps/usr/lib/x86_64-linux-gnu/libz.so"
  touch "$deps/.unpacked"
fi
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
python3 -c 'import torch; print("PyTorch", torch.__version__, "C++11 ABI:", torch.compiled_with_cxx11_abi(), "CUDA:", torch.cuda.is_available())'
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWHITTLE_TESTS=OFF -DWHITTLE_BENCH=OFF \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$deps/usr" -DOPENSSL_ROOT_DIR="$deps/usr" -DZLIB_ROOT="$deps/usr" \
  -DCMAKE_CXX_FLAGS="-isystem $deps/usr/include" >"$build.cmake.log" 2>&1 || { tail -40 "$build.cmake.log"; exit 1; }
grep -E "PyTorch: CUDA detected|brings its own fmt" "$build.cmake.log" || true
ninja -C "$build" whittle
echo "built $build/runtime/whittle"
