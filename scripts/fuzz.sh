#!/usr/bin/env bash
# Fuzz the front end (parse, use, check, lint, fmt) with libFuzzer + ASan + UBSan for a bounded time.
#   scripts/fuzz.sh [SECONDS]        default 300
# Needs clang and libFuzzer (Debian: clang, libclang-rt-14-dev). Crashes land in build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWHITTLE_FUZZ=ON \
  -DWHITTLE_BENCH=OFF >/dev/null
cmake --build build-fuzz --target fuzz_lint
corpus=build-fuzz/corpus
mkdir -p "$corpus" build-fuzz/crashes
cp pipelines/*.recipe stdlib/std/*.recipe tests/golden/diagnostics/*.recipe tests/fuzz/regressions/* "$corpus"/
# Each case of the chunked golden file is a seed of its own.
awk '/^### /{n++; next} {print > ("'"$corpus"'/case_" n ".recipe")}' tests/golden/cases.recipes
cd build-fuzz
./tests/fuzz_lint -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
  -dict=../tests/fuzz/recipe.dict -artifact_prefix=crashes/ corpus
