// What a student trips over (issue 31), end to end: each case failed before its fix.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

#include "tests/cli/faults.h"

namespace fs = std::filesystem;
using namespace whittle::test;
using namespace whittle::test::faults;

TEST_CASE("an honest submission that smoke-tests on a slice and claims the whole test set verifies", "[student][submit]") {
  Scratch s;
  // A slice of the test set while developing, then the final model measured on the whole test set
  // with a second `data` line.
  s.write("r.recipe", "recipe sub\ndata synthetic size: 256 test_subset: 40\nmodel small_cnn width: 4\ntrain 2 epochs batch: 64\nevaluate\n"
                      "prune 50%\nretrain 1 epoch batch: 64\nevaluate\ndata synthetic size: 256\nevaluate\n");
  const auto j = json_of(run_in(s));
  const std::string archive = (s.dir / "sub.tar.gz").string();
  const Result sub = run_whittle("submit --cache " + (s.dir / "cache").string() + " -o " + archive + " " + (s.dir / "r.recipe").string());
  INFO(sub.out);
  REQUIRE(sub.code == 0);
  const Result v = run_whittle("verify " + archive);
  INFO(v.out);
  CHECK(v.code == 0);
  CHECK(std::regex_search(v.out, std::regex("ok +accuracy measured on +the whole test set +the whole test set \\(#8 evaluate\\)")));
  CHECK(v.out.find("verified: every claim holds") != std::string::npos);
}

TEST_CASE("dropping test_subset reruns the evaluations only; evaluate takes its own slice", "[student][cache]") {
  Scratch s;
  const std::string body = "model small_cnn width: 4\ntrain 2 epochs batch: 64\nprune 50%\nretrain 1 epoch batch: 64\nevaluate\n";
  s.write("r.recipe", "recipe slice\ndata synthetic size: 256 test_subset: 40\n" + body);
  const auto first = json_of(run_in(s));
  CHECK(first["stages"][5]["metrics"]["images"] == 40);
  s.write("r.recipe", "recipe slice\ndata synthetic size: 256\n" + body);
  const auto second = json_of(run_in(s));
  std::vector<std::string> ran;
  for (const auto& st : second["stages"])
    if (st["status"] == "ran") ran.push_back(st["kind"]);
  CHECK(ran == std::vector<std::string>{"evaluate"});
  CHECK(second["stages"][5]["metrics"]["images"] == 64);  // the synthetic set tests on a quarter of `size`
  // One recipe, a slice and the whole set, without a second data line.
  s.write("r.recipe", "recipe slice\ndata synthetic size: 256\n" + body + "evaluate test_subset: 50\n");
  const auto third = json_of(run_in(s));
  CHECK(third["stages"][6]["status"] == "ran");
  CHECK(third["stages"][6]["metrics"]["images"] == 50);
  CHECK(third["stages"][5]["status"] == "cached");
}
