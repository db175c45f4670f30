#!/bin/bash
# Issue 33's bench: what a `search` costs against the exhaustive sweep of the same body.
#   bench/search.sh preview [N...]      the static preview's time per candidate: `whittle plan` of a
#                                       ResNet18 search of N candidates (default 10 40), median of 3
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
  for n in ${@:-10 40}; do
    # n candidates: amounts 1%..n% (layer-wise prunes: exact previews) at 8 bits
    cat > "$work/r.recipe" <<R
data synthetic validation: 10%
model resnet18
train 1 epoch
search lowest course2025 where accuracy >= 90% {
  choose amount in 1%..${n}% by 1% monotone
  prune \$amount
  quantize 8 bits activations: 8 bits
  retrain 1 epoch
  evaluate split: validation
}
R
    times=()
    for i in 1 2 3; do
      s=$(date +%s.%N)
      $w plan --cache "$work/cache" "$work/r.recipe" > "$work/plan.txt" 2>&1 || { cat "$work/plan.txt"; exit 1; }
      e=$(date +%s.%N)
      times+=("$(echo "$e - $s" | bc)")
    done
    med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
    printf 'preview of %4d ResNet18 candidates: median %6.2f s (%s), %.3f s per candidate\n' "$n" "$med" "${times[*]}" "$(echo "$med / $n" | bc -l)"
    grep -m1 "candidates," "$work/plan.txt" || true
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
