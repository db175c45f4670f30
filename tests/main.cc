// The one Catch2 main for every test binary: Catch2's, and an exit code of its own when a test case
// skipped (tests/skip.h) and nothing failed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "tests/skip.h"

namespace {
bool g_skipped = false;
}

void whittle::test::note_skipped() { g_skipped = true; }

int main(int argc, char* argv[]) {
  const int failed = Catch::Session().run(argc, argv);
  return failed == 0 && g_skipped ? whittle::test::kSkipped : failed;
}
