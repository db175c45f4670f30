// Rendering: the full compiler-style form, the one-line form, and JSON.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "lang/render.h"
#include "tests/lang/helpers.h"

using namespace whittle;

TEST_CASE("full rendering matches docs/language.md's example", "[render]") {
  auto a = lang::analyze("pipelines/lrr.recipe",
                         "data cifar10\nmodel resnet18\ntrain 10 epochs\n\n\n\nrepeat 2 {\n  retrain 1 epoch\n  prnue "
                         "20% global l1\n}\nevaluate\n");
  const lang::Diagnostic* d = test::find(*a, "E0102");
  REQUIRE(d);
  CHECK(lang::render_full(*d, a->sources) ==
        "error[E0102]: unknown stage `prnue`\n"
        " --> pipelines/lrr.recipe:9:3\n"
        "  |\n"
        "9 |   prnue 20% global l1\n"
        "  |   ^^^^^ not a stage\n"
        "  |\n"
        "  = help: did you mean `prune`?\n");
  CHECK(lang::render_concise(*d, a->sources) ==
        "pipelines/lrr.recipe:9:3: error[E0102]: unknown stage `prnue` (help: did you mean `prune`?)");
}

TEST_CASE("secondary labels render on their own lines, in line order", "[render]") {
  auto a = lang::analyze("t.recipe", "let x = 1\n\n\nlet x = 2\nevaluate\n");
  const lang::Diagnostic* d = test::find(*a, "E0105");
  REQUIRE(d);
  CHECK(lang::render_full(*d, a->sources) ==
        "error[E0105]: `x` is defined twice\n"
        " --> t.recipe:4:5\n"
        "  |\n"
        "1 | let x = 1\n"
        "  |     - first defined here\n"
        "...\n"
        "4 | let x = 2\n"
        "  |     ^ defined again here\n"
        "  |\n"
        "  = help: rename one of them\n");
}

TEST_CASE("columns count code points, not bytes", "[render]") {
  auto a = lang::analyze("t.recipe", "export \"é\" prnue\n");
  REQUIRE_FALSE(a->diags.empty());
  REQUIRE(test::find(*a, "E0103"));
  CHECK(lang::render_concise(*test::find(*a, "E0103"), a->sources).rfind("t.recipe:1:12:", 0) == 0);
}

TEST_CASE("JSON has the fields docs/language.md promises", "[render]") {
  auto a = lang::analyze("t.recipe", "data cifar10\nmodel resnet18\nprune 0.5\nprune 20%\n");
  auto j = nlohmann::json::parse(lang::render_json(a->diags.all(), a->sources));
  REQUIRE(j.is_array());
  REQUIRE(j.size() >= 2);
  nlohmann::json e;
  for (const auto& x : j)
    if (x["code"] == "E0207") e = x;
  CHECK(e["code"] == "E0207");
  CHECK(e["severity"] == "error");
  CHECK(e["file"] == "t.recipe");
  CHECK(e["line"] == 3);
  CHECK(e["column"] == 7);
  CHECK(e["message"].is_string());
  CHECK(e["help"] == "did you mean `50%`?");
  CHECK(e["name"] == "missing_unit");
  bool saw_note = false;
  for (const auto& x : j) {
    if (x["code"] != "N0001") continue;
    saw_note = true;
    CHECK(x["severity"] == "note");
    CHECK(x["help"].is_null());
  }
  CHECK(saw_note);
}
