#!/bin/bash
# Where the CPU training step of pipelines/cifar10_90_cpu.recipe spends its time, and which runtime
# settings make it faster, measured side by side in one run (issue 32).
#   bench/cpu_step_profile.sh [DATA_DIR] [REPEATS=2] [SUBSET=10240] [EPOCHS=2]
# 1. perf: one run of whittle under `perf record`, its samples by library and the top functions
#    (oneDNN's convolution kernels are generated at run time: perf shows them as "[JIT] tid N";
#    LibTorch's vectorised math as libsleef, its other kernels as libtorch_cpu).
# 2. variants, alternating REPEATS times so that noise hits all alike, each the recipe's training
#    stage on SUBSET training images for EPOCHS epochs from an empty cache: the median training
#    images/s of each and its ratio to the recipe as written:
#      as-written      --threads 2, channels-last (the recipe)
#      contiguous      channels_last: false
#      threads-1       --threads 1
#      avx2            oneDNN limited to AVX2 kernels (ONEDNN_MAX_CPU_ISA=AVX2; default: the best the CPU has)
#      omp-passive     OMP_WAIT_POLICY=PASSIVE (worker threads sleep between parallel regions)
#      aten-avx512     ATEN_CPU_CAPABILITY=avx512: LibTorch's own kernels (GELU's erf, BatchNorm, the
#                      optimizer) in their AVX-512 build, where the CPU has it (perf shows AVX2 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-${WHITTLE_DATA:-$(cd .. && pwd)/shared/data}}
reps=${2:-2}; subset=${3:-10240}; epochs=${4:-2}
whittle=build/runtime/whittle
command -v perf >/dev/null || { echo "needs perf (apt-get install linux-perf)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sets=(--set "epochs=$epochs epochs" --set "subset=$subset" --set test_subset=512)

# run NAME RECIPE [ENV...] -- [whittle args]: one run from an empty cache; appends "NAME images/s".
run() {
  local name=$1 recipe=$2; shift 2
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  local dir="$work/$name.$RANDOM"
  mkdir -p "$dir"
  cp "$recipe" "$dir/r.recipe"
  env "${envs[@]}" WHITTLE_DATA="$data" $whittle run --format json "${sets[@]}" "$@" "$dir/r.recipe" > "$dir/out.json" 2> "$dir/err" ||
    { cat "$dir/err" >&2; exit 1; }
  python3 - "$dir/out.json" "$name" "$subset" "$epochs" >> "$work/runs.txt" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
run = json.loads(text[text.index("{"):])
train = [s for s in run["stages"] if s["kind"] == "train"][-1]
print(sys.argv[2], int(sys.argv[3]) * int(sys.argv[4]) / train["seconds"])
PY
  tail -1 "$work/runs.txt"
  rm -rf "$dir"
}

recipe=pipelines/cifar10_90_cpu.recipe
sed 's/channels_last: true/channels_last: false/' $recipe > "$work/contiguous.recipe"
grep -q 'channels_last: false' "$work/contiguous.recipe" || { echo "the recipe no longer says channels_last: true" >&2; exit 1; }

echo "== perf: where the time goes (--threads 2, $subset images, $epochs epochs)"
mkdir -p "$work/perf"
cp $recipe "$work/perf/r.recipe"
WHITTLE_DATA="$data" perf record -q -F 499 -o "$work/perf.data" -- $whittle run --threads 2 "${sets[@]}" "$work/perf/r.recipe" > /dev/null 2>&1
report() { perf report -i "$work/perf.data" --no-children --stdio "$@" 2> /dev/null | grep -v '^#' | grep -v '^$' | cut -c1-100 | head -"$lines" || true; }
lines=12 report --sort dso
echo "-- top functions"
lines=15 report --sort dso,symbol

echo "== variants (median of $reps, alternating)"
for ((r = 1; r <= reps; r++)); do
  run as-written $recipe -- --threads 2
  run contiguous "$work/contiguous.recipe" -- --threads 2
  run threads-1 $recipe -- --threads 1
  run avx2 $recipe ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2 -- --threads 2
  run omp-passive $recipe OMP_WAIT_POLICY=PASSIVE -- --threads 2
  run aten-avx512 $recipe ATEN_CPU_CAPABILITY=avx512 -- --threads 2
done
python3 - "$work/runs.txt" <<'PY'
import statistics, sys
runs = [l.split() for l in open(sys.argv[1])]
names = list(dict.fromkeys(n for n, _ in runs))
med = {n: statistics.median(float(v) for m, v in runs if m == n) for n in names}
print(f"{'variant':<14} {'images/s':>9} {'vs as-written':>14}")
for n in names:
    print(f"{n:<14} {med[n]:9.0f} {med[n] / med['as-written']:13.2f}x")
PY
