#!/bin/bash
# Training speed and accuracy, whittle against a plain PyTorch loop (bench/airbench_torch.py, Debian's
# python3-torch: the same LibTorch 1.13), side by side in one run, alternating sides so that machine noise
# hits both alike: pipelines/cifar10_90_cpu.recipe's network, batch, optimizer, schedule, augmentation,
# lookahead and TTA, on the same CIFAR-10 files and threads.
#   bench/airbench_compare.sh [EPOCHS=10] [REPEATS=1] [THREADS=2] [DATA_DIR]
# Sides: whittle (`whittle run`, which preloads tcmalloc; channels-last, as the recipe says), pytorch (as
# users run it: glibc malloc, contiguous tensors), pytorch-tuned (tcmalloc through LD_PRELOAD and
# channels-last: tuned as whittle is). Prints each run, then per side the median training images/s,
# its ratio to whittle's, the achieved GFLOP/s of the training step (6 x forward MACs per image) and
# the test accuracy plain and with TTA (equal epochs, so equal within seed noise: about ±0.2%).
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-10}; reps=${2:-1}; threads=${3:-2}
data=${4:-${WHITTLE_DATA:-$(cd .. && pwd)/shared/data}}
py=/usr/bin/python3
$py -c 'import torch' 2>/dev/null || { echo "needs Debian's python3-torch: apt-get install python3-torch" >&2; exit 1; }
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
[ -e "$tcmalloc" ] || { echo "needs libtcmalloc-minimal4 (apt-get install libtcmalloc-minimal4)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out="$work/runs.jsonl"
for ((r = 1; r <= reps; r++)); do
  dir="$work/w$r"
  mkdir -p "$dir"
  cp pipelines/cifar10_90_cpu.recipe "$dir/r.recipe"
  WHITTLE_DATA=$data build/runtime/whittle run --threads "$threads" --format json --set "epochs=$epochs epochs" "$dir/r.recipe" \
    > "$dir/out.json" 2> "$dir/err" || { cat "$dir/err"; exit 1; }
  $py - "$dir/out.json" "$epochs" "$threads" >> "$out" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
run = json.loads(text[text.index("{"):])
st = run["stages"]
train = [s for s in st if s["kind"] == "train"][-1]
evals = [s for s in st if s["kind"] == "evaluate"]
images = 50000 * int(sys.argv[2])
macs = train["metrics"]["macs"]
print(json.dumps({"side": "whittle", "epochs": int(sys.argv[2]), "threads": int(sys.argv[3]), "train_seconds": train["seconds"],
                  "images_per_s": images / train["seconds"], "gflops": images * macs * 6 / train["seconds"] / 1e9,
                  "accuracy": evals[0]["metrics"]["accuracy"], "tta_accuracy": evals[-1]["metrics"]["accuracy"]}))
PY
  tail -1 "$out"
  $py bench/airbench_torch.py "$data" "$epochs" "$threads" >> "$out"; tail -1 "$out"
  CHANNELS_LAST=1 LD_PRELOAD=$tcmalloc $py bench/airbench_torch.py "$data" "$epochs" "$threads" | sed 's/"pytorch"/"pytorch-tuned"/' >> "$out"
  tail -1 "$out"
done
$py - "$out" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
sides = ["whittle", "pytorch", "pytorch-tuned"]
med = {s: statistics.median(r["images_per_s"] for r in runs if r["side"] == s) for s in sides}
print(f"\n{'side':<14} {'images/s':>9} {'whittle is':>11} {'GFLOP/s':>8} {'accuracy':>9} {'with TTA':>9}")
for s in sides:
    rs = [r for r in runs if r["side"] == s]
    print(f"{s:<14} {med[s]:9.0f} {med['whittle'] / med[s]:10.2f}x {statistics.median(r['gflops'] for r in rs):8.1f} "
          f"{statistics.median(r['accuracy'] for r in rs) * 100:8.2f}% {statistics.median(r['tta_accuracy'] for r in rs) * 100:8.2f}%")
print(f"goals: >= 1.2x pytorch as users run it: {'met' if med['whittle'] >= 1.2 * med['pytorch'] else 'NOT met'}; "
      f">= 1.0x pytorch tuned alike: {'met' if med['whittle'] >= med['pytorch-tuned'] else 'NOT met'}")
PY
