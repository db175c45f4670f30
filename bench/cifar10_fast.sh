#!/bin/bash
# Time to a real CIFAR-10 number: runs pipelines/cifar10_fast.recipe from an empty cache and prints
# the wall time, the test accuracy and the peak memory. Target on a 2-core CPU: >= 80% in < 20 min.
#   bench/cifar10_fast.sh [DATA_DIR] [THREADS]   (DATA_DIR holds cifar-10-batches-bin; default
#                                                 $WHITTLE_DATA, else ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-${WHITTLE_DATA:-$(cd .. && pwd)/shared/data}}
threads=${2:-$(nproc)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp pipelines/cifar10_fast.recipe "$work/"
start=$(date +%s.%N)
WHITTLE_DATA=$data /usr/bin/time -f '%M' -o "$work/rss" build/runtime/whittle run --threads "$threads" --format json \
  "$work/cifar10_fast.recipe" > "$work/out.json" 2> "$work/err" || { cat "$work/err"; exit 1; }
end=$(date +%s.%N)
python3 - "$work/out.json" "$start" "$end" "$(cat "$work/rss")" "$threads" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
run = json.loads(text[text.index("{"):])
acc = [s["metrics"]["accuracy"] for s in run["stages"] if s["kind"] == "evaluate"][-1]
train = [s for s in run["stages"] if s["kind"] == "train"][-1]
wall = float(sys.argv[3]) - float(sys.argv[2])
print(f"cifar10_fast: test accuracy {acc * 100:.2f}%, wall {wall / 60:.1f} min (train stage {train['seconds'] / 60:.1f} min), "
      f"peak RSS {int(sys.argv[4]) / 1024:.0f} MB, {sys.argv[5]} threads")
print(f"target: >= 80% in < 20 min on a 2-core CPU: {'met' if acc >= 0.8 and wall < 1200 else 'NOT met'}")
PY
