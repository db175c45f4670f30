// Inputs the fuzzer once choked on (tests/fuzz/regressions/): each must be analysed quickly, end in
// a diagnosis, and format back to itself when it parses.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lang/analyze.h"
#include "lang/fmt.h"
#include "lang/parser.h"
#include "tests/fuzz/expand.h"

namespace fs = std::filesystem;
using namespace whittle::lang;

TEST_CASE("past fuzzer findings stay fixed", "[regression]") {
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(WHITTLE_SOURCE_DIR) / "tests" / "fuzz" / "regressions")) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    INFO(e.path().filename().string());
    CheckOptions o;
    o.max_stages = 10000;  // as the fuzzer runs them
    const auto t0 = std::chrono::steady_clock::now();
    auto a = analyze(e.path().filename().string(), whittle::fuzz::expand(ss.str()), o);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(a->diags.has_errors());
    CHECK(s < 5.0);  // a generous bound: these once took forever
    ++n;
  }
  CHECK(n >= 3);
}

TEST_CASE("unrolling is bounded even when no stage is valid", "[regression]") {
  CheckOptions o;
  o.max_stages = 1000;
  auto a = analyze("t.recipe", "repeat 1000 {\n  repeat 1000 {\n    evaluaet\n  }\n}\n", o);
  bool limit = false, unknown = false;
  for (const auto& d : a->diags.all()) {
    limit = limit || d.code == "E0306";
    unknown = unknown || d.code == "E0102";
  }
  CHECK(limit);
  CHECK(unknown);
}
