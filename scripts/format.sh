#!/usr/bin/env bash
# Formats the C++ sources with clang-format and the project's .clang-format (Google style, 120 columns).
#   scripts/format.sh           format every tracked .cc and .h in place
#   scripts/format.sh --check   list the files that are not formatted; exit 1 if any
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cc' '*.h')
if [[ "${1:-}" == --check ]]; then
  bad=0
  for f in "${files[@]}"; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || { echo "$f"; bad=1; }
  done
  exit $bad
fi
clang-format -i "${files[@]}"
