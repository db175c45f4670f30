#!/bin/bash
# Runs a recipe for at most SECONDS, its cache carried in and out as a pack split into parts of at
# most 15 MiB (what a GPU session's $OUT brings back, 16 MiB a file): a pipeline longer than one
# session goes on in the next, from its last finished stage and its last finished epoch.
#   scripts/continue_run.sh RECIPE SECONDS IN_DIR OUT_DIR [--set NAME=VALUE]... [other `whittle run` options]
# IN_DIR: the parts an earlier call wrote (NAME.pack.part-NN); none there: a fresh start.
# OUT_DIR: gets the new pack's parts and run.txt (what the run printed).
# Exit status: 0 the recipe finished; 3 the time ran out (call again, OUT_DIR's parts as IN_DIR);
# 1 an error (a pack of what was finished is written all the same).
# WHITTLE=path/to/whittle picks the program (default build/runtime/whittle).
set -uo pipefail
[ $# -ge 4 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
recipe=$1 secs=$2 in=$3 out=$4
shift 4
whittle=${WHITTLE:-build/runtime/whittle}
name=$(basename "$recipe" .recipe)
sets=()
args=("$@")
for ((i = 0; i < ${#args[@]}; ++i)); do
  case ${args[i]} in
    --set) sets+=(--set "${args[i + 1]}") ;;
    --set=*) sets+=("${args[i]}") ;;
  esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
parts=("$in"/"$name".pack.part-*)
if [ -e "${parts[0]}" ]; then
  cat "${parts[@]}" > "$work/in.pack.tar.zst"
  "$whittle" cache unpack --for "$recipe" "$work/in.pack.tar.zst" || exit 1
fi
start=$(date +%s)
# SIGINT at the limit: the stage in progress keeps its last finished epoch (epoch checkpoints).
timeout -s INT -k 60 "$secs" "$whittle" run "$recipe" "$@" > "$out/run.txt" 2>&1
rc=$?
echo "whittle run: exit $rc after $(( $(date +%s) - start )) s" >> "$out/run.txt"
"$whittle" cache pack "$recipe" "${sets[@]}" -o "$work/out.pack.tar.zst" || exit 1
rm -f "$out"/"$name".pack.part-*
split -b 15M -d "$work/out.pack.tar.zst" "$out/$name.pack.part-"
case $rc in
  0) exit 0 ;;
  124 | 130 | 137) exit 3 ;;
  *) exit 1 ;;
esac
