// Inputs the fuzzer once choked on (tests/fuzz/regressions/): each must be analysed quickly, end in
// a diagnosis, and format back to itself when it parses.
#include <catch2/catch.hpp>

#include <algorithm>
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

TEST_CASE("the second campaign's checker findings: deep blocks, long let chains, empty paths, huge networks",
          "[regression][hostile]") {
  auto codes_of = [](const Analysis& a) {
    std::vector<std::string> out;
    for (const auto& d : a.diags.all())
      if (d.severity != Severity::Note) out.push_back(d.code);
    return out;
  };
  // 3,000 `define`d blocks each using the next: too deep, not "uses itself".
  std::string nested = "data synthetic\n";
  for (int i = 0; i < 3000; ++i)
    nested += "define b" + std::to_string(i) + "() {\n  b" + std::to_string(i + 1) + "\n}\n";
  nested +=
      "define b3000() {\n  conv 4 channels\n}\nnetwork n {\n  b0 -> avgpool global -> linear\n}\nmodel n\nevaluate\n";
  auto deep = analyze("t.recipe", nested);
  REQUIRE(deep->diags.has_errors());
  for (const auto& d : deep->diags.all()) CHECK(d.message.find("uses itself") == std::string::npos);
  const auto deep_codes = codes_of(*deep);
  CHECK(std::count(deep_codes.begin(), deep_codes.end(), "E0111") >= 1);
  // 5,000 chained lets: the chain is the error, and no let is called unused.
  std::string chain = "let a0 = 1\n";
  for (int i = 1; i < 5000; ++i) chain += "let a" + std::to_string(i) + " = $a" + std::to_string(i - 1) + "\n";
  chain += "data synthetic\nmodel small_cnn\ntrain $a4999 epochs\nevaluate\n";
  const auto lets = codes_of(*analyze("t.recipe", chain));
  CHECK(std::count(lets.begin(), lets.end(), "E0111") == 1);
  CHECK(std::count(lets.begin(), lets.end(), "W0004") == 0);
  // An empty export path is an error at its line.
  CHECK(codes_of(*analyze("t.recipe", "data synthetic\nmodel small_cnn\nexport \"\"\n")) ==
        std::vector<std::string>{"E0203"});
  // A network too large to build is refused from its shapes alone, quickly.
  const auto t0 = std::chrono::steady_clock::now();
  const auto dense = codes_of(*analyze("t.recipe",
                                       "network d {\n  dense 3000 { conv 8 channels }\n  avgpool global -> linear\n}\n"
                                       "data cifar10\nmodel d\nevaluate\n"));
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 10.0);
  CHECK(dense == std::vector<std::string>{"E0410"});
  CHECK(codes_of(*analyze("t.recipe",
                          "network w {\n  conv 65536 channels -> conv 65536 channels -> avgpool global -> linear\n}\n"
                          "data cifar10\nmodel w\nevaluate\n")) == std::vector<std::string>{"E0410"});
}
