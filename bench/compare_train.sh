#!/bin/bash
# Training throughput and peak memory, whittle (C++) against PyTorch (Python) on the same LibTorch
# build, side by side in one run, alternating sides so machine noise hits both alike.
#   bench/compare_train.sh [REPEATS=3] [STEPS=4] [THREADS=2] [ARCH...]
# Needs Debian's python3-torch (apt-get install python3-torch) and a build (build/bench/train_bench).
# Sides: whittle (linked with tcmalloc, which `whittle run` preloads), whittle-glibc-tuned (glibc with whittle's
# fallback mallopt settings), whittle-glibc (glibc defaults), pytorch (as users run it),
# pytorch-glibc-tuned (the same malloc settings through GLIBC_TUNABLES), pytorch-tcmalloc (tuned the
# way whittle is: tcmalloc through LD_PRELOAD).
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}; steps=${2:-4}; threads=${3:-2}; shift $(( $# < 3 ? $# : 3 )) || true
archs=("$@"); [ ${#archs[@]} -gt 0 ] || archs=(resnet18 densenet_cifar)
py=/usr/bin/python3
$py -c 'import torch' 2>/dev/null || { echo "needs Debian's python3-torch: apt-get install python3-torch" >&2; exit 1; }
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
[ -e "$tcmalloc" ] || { echo "needs libtcmalloc-minimal4 (apt-get install libtcmalloc-minimal4)" >&2; exit 1; }
tuned='glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967295'
out=$(mktemp)
for arch in "${archs[@]}"; do
  for ((r = 1; r <= reps; r++)); do
    build/bench/train_bench "$arch" 128 "$steps" "$threads" >> "$out"
    $py bench/train_bench.py "$arch" 128 "$steps" "$threads" >> "$out"
    build/bench/train_bench_glibc "$arch" 128 "$steps" "$threads" >> "$out"
    GLIBC_TUNABLES=$tuned $py bench/train_bench.py "$arch" 128 "$steps" "$threads" | sed 's/"pytorch"/"pytorch-glibc-tuned"/' >> "$out"
    WHITTLE_NO_MALLOPT=1 build/bench/train_bench_glibc "$arch" 128 "$steps" "$threads" >> "$out"
    LD_PRELOAD=$tcmalloc $py bench/train_bench.py "$arch" 128 "$steps" "$threads" | sed 's/"pytorch"/"pytorch-tcmalloc"/' >> "$out"
  done
done
$py - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for arch in dict.fromkeys(r["arch"] for r in rows):
    med = {}
    for side in ["whittle", "whittle-glibc-tuned", "whittle-glibc", "pytorch", "pytorch-glibc-tuned", "pytorch-tcmalloc"]:
        rs = [r for r in rows if r["arch"] == arch and r["side"] == side]
        med[side] = (statistics.median(r["images_per_s"] for r in rs), statistics.median(r["peak_rss_mb"] for r in rs), len(rs))
    print(f"{arch} (batch 128, {rows[0]['threads']} threads, medians of {med['whittle'][2]} runs):")
    for side, (ips, rss, n) in med.items():
        print(f"  {side:20s} {ips:8.1f} images/s  peak RSS {rss:6.0f} MB")
    w, p = med["whittle"], med["pytorch"]
    print(f"  whittle / pytorch                  {w[0] / p[0]:.2f}x   (target >= 1.15)")
    for tuned in ["pytorch-tcmalloc", "pytorch-glibc-tuned"]:
        print(f"  whittle / {tuned:24s} {w[0] / med[tuned][0]:.2f}x   (target >= 1.00)")
    print(f"  peak memory whittle / pytorch      {w[1] / p[1]:.2f}    (target <= 1.10)")
PY
rm -f "$out"
