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
  const std::string archive = submitted_run(s, "recipe sub\ndata synthetic size: 256 test_subset: 40\nmodel small_cnn width: 4\n"
                                                 "train 2 epochs batch: 64\nevaluate\nprune 50%\nretrain 1 epoch batch: 64\nevaluate\n"
                                                 "data synthetic size: 256\nevaluate\n");
  const Result v = verify_clean(s, archive);
  INFO(v.out);
  CHECK(v.code == 0);
  CHECK(std::regex_search(v.out, std::regex("ok +accuracy measured on +the whole test set +the whole test set \\(#8 evaluate\\)")));
  CHECK(v.out.find("verified: every claim holds") != std::string::npos);
}

TEST_CASE("dropping test_subset reruns the evaluations only, and evaluate takes its own slice", "[student][cache]") {
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

TEST_CASE("verify of a model below the course's bar says so, and still verifies", "[student][submit]") {
  Scratch s;
  // One epoch on 256 synthetic images: well below 90%.
  const std::string archive = submitted_run(s, "recipe sub\ndata synthetic size: 256\nmodel small_cnn width: 2\ntrain 1 epoch batch: 64 optimizer: sgd(lr: 0.0001)\nevaluate\n");
  const Result v = verify_clean(s, archive);
  INFO(v.out);
  CHECK(v.code == 0);
  CHECK(std::regex_search(v.out, std::regex("note: its test accuracy, [0-9.]+%, is below the course's 90% bar")));
}

TEST_CASE("plan says when the ops term dominates the score of weights quantized with float activations", "[student][score]") {
  Scratch s;
  s.write("r.recipe", "data synthetic\nmodel small_cnn\ntrain 1 epoch\nquantize 4 bits\nretrain 1 epoch\nquantize 4 bits activations: 8 bits\nevaluate\n");
  const Result r = run_whittle("plan " + (s.dir / "r.recipe").string());
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(std::regex_search(r.out, std::regex("note: #3 quantize 4 bits: the activations stay at 32 bits and the ops term is [0-9]+% of course2025")));
  CHECK(r.out.find("`activations: 8 bits`: the ops term then counts max(weight, activation) bits (" + (s.dir / "r.recipe").string() + ":4)") !=
        std::string::npos);
  CHECK(r.out.find("note: #5") == std::string::npos);  // activations quantized there: no note
  // lint says it at the line, without the share (it builds no model)
  const Result l = run_whittle("lint " + (s.dir / "r.recipe").string());
  INFO(l.out);
  CHECK(l.code == 0);
  CHECK(l.out.find("note[N0002]: this quantize leaves the activations at 32 bits") != std::string::npos);
  CHECK(l.out.find("r.recipe:4:1") != std::string::npos);
  CHECK(l.out.find("r.recipe:6:1") == std::string::npos);
}
