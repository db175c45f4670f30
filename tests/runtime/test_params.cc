// Typed parameter reads (runtime/plan/params.h): values by type, and every name the runtime reads is one
// the catalog declares.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "lang/analyze.h"
#include "lang/catalog.h"
#include "runtime/plan/params.h"

using namespace whittle;
using runtime::ParamError;
using runtime::Params;

namespace {

std::unique_ptr<lang::Analysis> checked(const std::string& text) {
  auto a = lang::analyze("p.recipe", text);
  REQUIRE_FALSE(a->diags.has_errors());
  return a;
}

}  // namespace

TEST_CASE("parameters are read by type: fractions from percents, counts, words, flags, calls", "[params]") {
  auto a = checked(
      "data synthetic validation: 10%\nmodel small_cnn\ntrain 3 epochs optimizer: sgd(lr: 0.05)\n"
      "prune 20% global\nsensitivity amounts: [10%, 50%]\n");
  const auto& st = a->recipe.stages;
  CHECK(Params(st[0]).fraction("validation") == Approx(0.1));
  CHECK(Params(st[0]).word("dataset") == "synthetic");
  CHECK(Params(st[0]).flag("normalize"));
  CHECK(Params(st[2]).count("epochs") == 3);
  CHECK(Params(st[2]).given("optimizer"));
  CHECK_FALSE(Params(st[2]).given("batch"));
  const Params sgd(Params(st[2]).value("optimizer"));
  CHECK(sgd.number("lr") == Approx(0.05));
  CHECK(sgd.number("momentum") == Approx(0.9));  // the catalog's default, filled by the checker
  CHECK(Params(st[3]).fraction("amount") == Approx(0.2));
  CHECK(Params(st[4]).fractions("amounts") == std::vector<double>{0.1, 0.5});
  CHECK(Params(st[2]).declares("snapshot_every"));
  CHECK_FALSE(Params(st[2]).declares("rewind"));  // a retrain's
}

TEST_CASE("a name the catalog does not declare, or a read of the wrong type, is a bug reported as one", "[params]") {
  auto a = checked("data synthetic\nmodel small_cnn\ntrain 3 epochs\n");
  const auto& train = a->recipe.stages[2];
  CHECK_THROWS_WITH(Params(train).count("epoch"),
                    Catch::Contains("reads `epoch` of stage `train`, which stdlib/stages.yaml does not declare") &&
                        Catch::Contains("epochs"));
  CHECK_THROWS_AS(Params(train).fraction("epochs"), ParamError);  // epochs are no percent
  CHECK_THROWS_AS(Params(train).flag("batch"), ParamError);
  CHECK_THROWS_AS(Params(train).word("clip"), ParamError);
  CHECK_THROWS_WITH(Params(Params(train).value("optimizer")).number("beta1"), Catch::Contains("`sgd`"));
}

TEST_CASE("every parameter name the runtime reads is declared in the catalog", "[params]") {
  // Every stage parameter and every call field the catalog declares.
  std::set<std::string> declared;
  const auto& cat = lang::Catalog::builtin();
  for (const auto& s : cat.stages())
    for (const auto& p : s.params) declared.insert(p.name);
  for (const auto& f : cat.families())
    for (const auto& k : f.kinds)
      for (const auto& p : k.params) declared.insert(p.name);
  // Every name passed to a typed read (or an old-style lookup) in the runtime's sources.
  const std::regex read(
      R"(\b(number|count|fraction|fractions|word|flag|value|given|declares|field|param)\(\*?[a-z]*,? ?\"([a-z_0-9]+)\"\))");
  int reads = 0;
  std::vector<std::string> unknown;
  {
    for (const auto& e :
         std::filesystem::recursive_directory_iterator(std::filesystem::path(WHITTLE_SOURCE_DIR) / "runtime")) {
      const std::string room =
          std::filesystem::relative(e.path(), std::filesystem::path(WHITTLE_SOURCE_DIR) / "runtime").begin()->string();
      if (e.path().extension() != ".cc" || room == "lsp" || room == "cli") continue;  // those read JSON, not stages
      std::ifstream in(e.path());
      std::stringstream text;
      text << in.rdbuf();
      const std::string src = text.str();
      for (std::sregex_iterator it(src.begin(), src.end(), read), end; it != end; ++it) {
        ++reads;
        if (!declared.count((*it)[2])) unknown.push_back(e.path().filename().string() + ": " + (*it)[2].str());
      }
    }
  }
  INFO("read but not declared: " << Catch::Detail::stringify(unknown));
  CHECK(unknown.empty());
  CHECK(reads > 80);  // the scan sees the runtime's reads (it would pass vacuously on none)
}
