#!/bin/bash
# Issue 33's bench: what a `search` costs against the exhaustive sweep of the same body.
#   bench/search.sh preview [N...]      the static preview's time per candidate: `whittle plan` of a
#                                       ResNet18 search of N candidates (default 10 100 1000), median of 3,
#                                       by counts (the default) and, up to 100 candidates, with
#                                       WHITTLE_PREVIEW=libtorch (every stage on a LibTorch model)
#   bench/search.sh trainings CACHE RECIPE   after a `whittle run --cache CACHE RECIPE` of a recipe with
#                                       a search: its trainings against the candidates an exhaustive
#                                       sweep trains, and the chosen candidate
# The preview reads no image: the data is the synthetic set (CIFAR-10's shape).
set -euo pipefail
cd "$(dirname "$0")/.."
w=build/runtime/whittle
case "${1:-preview}" in
preview)
  shift || true
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  for n in ${@:-10 100 1000}; do
    # n candidates: n/2 amounts 0.1%, 0.2%, ... (layer-wise prunes) x weights at 8 or 4 bits
    top=$(echo "scale=1; $n / 20" | bc)
    cat > "$work/r.recipe" <<R
data synthetic validation: 10%
model resnet18
train 1 epoch
search lowest course2025 where accuracy >= 90% {
  choose amount in 0.1%..${top}% by 0.1% monotone
  choose bits in [8, 4] monotone
  prune \$amount
  quantize \$bits bits activations: 8 bits
  retrain 1 epoch
  evaluate split: validation
}
R
    for how in counts libtorch; do
      [ "$how" = libtorch ] && [ "$n" -gt 100 ] && continue  # about 0.5 s a candidate
      times=()
      for i in 1 2 3; do
        s=$(date +%s.%N)
        WHITTLE_PREVIEW=$how $w plan --cache "$work/cache" "$work/r.recipe" > "$work/plan-$how.txt" 2>&1 || { cat "$work/plan-$how.txt"; exit 1; }
        e=$(date +%s.%N)
        times+=("$(echo "$e - $s" | bc)")
      done
      med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
      printf 'preview of %4d ResNet18 candidates by %-8s: median %6.2f s (%s), %.4f s per candidate\n' "$n" "$how" "$med" "${times[*]}" "$(echo "$med / $n" | bc -l)"
    done
    grep -m1 "candidates," "$work/plan-counts.txt" || true
    if [ -f "$work/plan-libtorch.txt" ]; then
      cmp -s "$work/plan-counts.txt" "$work/plan-libtorch.txt" && echo "  the two plans are the same, figure for figure" || echo "  THE TWO PLANS DIFFER"
      rm -f "$work/plan-libtorch.txt"
    fi
  done
  ;;
trainings)
  cache=$2 recipe=$3
  $w run --cache "$cache" --format json "$recipe" 2>/dev/null | python3 -c '
import json, sys
text = sys.stdin.read()
run = json.loads(text[text.index("{"):])
for d in run.get("searches", []):
    n, t = d["candidates"], d["trainings"]
    print("search #%d: %d trainings of %d candidates (an exhaustive sweep trains %d: %.2fx fewer); chose %s"
          % (d["search"], t, n, n, n / max(t, 1), d["chosen_label"]))
'
  ;;
*) echo "usage: bench/search.sh preview [N...] | trainings CACHE RECIPE" >&2; exit 2 ;;
esac
