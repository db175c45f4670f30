#!/bin/bash
# Issue 32's race: pipelines/cifar10_90_cpu.recipe (>= 90% on the whole CIFAR-10 test set) against
# pipelines/cifar10_fast.recipe (87%), each from an empty cache on the same machine, data loading and
# evaluation included, so that the wall times compare on whatever machine runs it (machines differ 3x).
#   bench/cifar10_90_cpu.sh [DATA_DIR] [THREADS] [SEEDS="0 1"]
# DATA_DIR holds cifar-10-batches-bin (default $WHITTLE_DATA, else ../shared/data). Prints one line per
# run (test accuracy of the recipe's last evaluation, wall and training minutes, peak RSS), then the
# verdict: every seed >= 90.0% and each 90% run's wall time below cifar10_fast's.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-${WHITTLE_DATA:-$(cd .. && pwd)/shared/data}}
threads=${2:-$(nproc)}
seeds=${3:-0 1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results="$work/results.jsonl"
run() {  # NAME RECIPE [--set ...]: one run from an empty cache
  local name=$1 recipe=$2; shift 2
  local dir="$work/$name"
  mkdir -p "$dir"
  cp "$recipe" "$dir/r.recipe"
  local start end
  start=$(date +%s.%N)
  WHITTLE_DATA=$data /usr/bin/time -f '%M' -o "$dir/rss" build/runtime/whittle run --threads "$threads" --format json "$@" \
    "$dir/r.recipe" > "$dir/out.json" 2> "$dir/err" || { cat "$dir/err"; exit 1; }
  end=$(date +%s.%N)
  python3 - "$dir/out.json" "$name" "$start" "$end" "$(cat "$dir/rss")" >> "$results" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
run = json.loads(text[text.index("{"):])
evals = [s for s in run["stages"] if s["kind"] == "evaluate"]
train = sum(s["seconds"] for s in run["stages"] if s["kind"] == "train")
print(json.dumps({"name": sys.argv[2], "accuracy": evals[-1]["metrics"]["accuracy"], "wall": float(sys.argv[4]) - float(sys.argv[3]),
                  "train": train, "rss_mb": int(sys.argv[5]) / 1024}))
PY
  tail -1 "$results"
}
run cifar10_fast pipelines/cifar10_fast.recipe
for s in $seeds; do run "cifar10_90_cpu_seed$s" pipelines/cifar10_90_cpu.recipe --set "seed=$s"; done
python3 - "$results" "$threads" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
fast = rows[0]
print(f"\n{'run':<24} {'accuracy':>9} {'wall min':>9} {'train min':>10} {'vs fast':>8} {'peak RSS':>9}   ({sys.argv[2]} threads)")
for r in rows:
    print(f"{r['name']:<24} {r['accuracy'] * 100:8.2f}% {r['wall'] / 60:9.2f} {r['train'] / 60:10.2f} {r['wall'] / fast['wall']:7.2f}x {r['rss_mb']:7.0f} MB")
ours = rows[1:]
ok = all(r["accuracy"] >= 0.9 and r["wall"] < fast["wall"] for r in ours)
print(f"goal: every seed >= 90.0% in less wall time than cifar10_fast: {'met' if ok else 'NOT met'}")
PY
