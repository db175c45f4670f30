#!/bin/sh
# The preview at full size: `whittle plan` (static preview of every stage) of every shipped
# pipeline, median wall time of REPS runs each, against the target of 1 s. CIFAR-10's files must be
# found ($WHITTLE_DATA, or the pipelines' root:); the plan reads only their fingerprints.
#   WHITTLE_DATA=/path/to/data bench/preview_bench.sh [REPS] [BUILD_DIR]
set -eu
reps=${1:-3}
build=${2:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
printf '%-28s %10s %10s %8s\n' pipeline "median s" "target s" ratio
for recipe in "$root"/pipelines/*.recipe; do
  times=""
  for _ in $(seq "$reps"); do
    t0=$(date +%s.%N)
    "$root/$build/runtime/whittle" plan --cache "$cache" "$recipe" > /dev/null 2>&1 || { echo "plan failed: $recipe" >&2; exit 1; }
    t1=$(date +%s.%N)
    times="$times $(awk "BEGIN {print $t1 - $t0}")"
  done
  median=$(echo $times | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf '%-28s %10.2f %10.2f %8.2f\n' "$(basename "$recipe" .recipe)" "$median" 1 "$median"
done
echo "($reps runs each; the plan without its preview takes well under a second: see cold_start_bench)"
