// A test case that cannot run here (a dependency missing: CIFAR-10, strace, a tmpfs, nvim, CUDA) says
// so and is reported to ctest as skipped, not passed: WHITTLE_SKIP warns with the reason, marks the
// run, and returns from the test case; the test binary then exits with kSkipped when nothing failed,
// which ctest (SKIP_RETURN_CODE, tests/CMakeLists.txt) counts as "Not Run (Skipped)".
#pragma once
#include <catch2/catch.hpp>

namespace whittle::test {

inline constexpr int kSkipped = 77;
/// Marks this run of the binary as having skipped something.
void note_skipped();

}  // namespace whittle::test

#define WHITTLE_SKIP(why)            \
  do {                               \
    WARN("skipped: " << why);        \
    ::whittle::test::note_skipped(); \
    return;                          \
  } while (0)
