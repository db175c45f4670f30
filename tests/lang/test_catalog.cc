// The stage catalog: the embedded one is complete and consistent; a malformed one names its line.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <sstream>

#include "lang/catalog.h"
#include "lang/catalog_json.h"
#include "tests/lang/helpers.h"

using namespace whittle::lang;

namespace {
/// A value of the type, in recipe syntax, for a minimal valid call.
std::string sample(const Type& t) {
  switch (t.kind) {
    case TypeKind::Int:
      return "1";
    case TypeKind::Float:
      return "0.5";
    case TypeKind::Bool:
      return "true";
    case TypeKind::String:
      return "\"x\"";
    case TypeKind::Epochs:
      return "1 epoch";
    case TypeKind::Percent:
      return "10%";
    case TypeKind::Bits:
      return "8 bits";
    case TypeKind::Channels:
      return "8 channels";
    case TypeKind::Outputs:
      return "10 outputs";
    case TypeKind::Enum:
      return t.values.front();
    case TypeKind::List:
      return "[]";
    case TypeKind::Model:
      return "$m";
    case TypeKind::Result:
      return "none";
    case TypeKind::Family:
      return "none";
  }
  return "";
}
}  // namespace

TEST_CASE("the embedded catalog loads and declares every technique of docs/course.md", "[catalog]") {
  const Catalog& c = Catalog::builtin();
  for (const char* s : {"data", "model", "train", "retrain", "finetune", "prune", "sensitivity", "quantize", "convert",
                        "evaluate", "score", "export"})
    CHECK(c.stage(s) != nullptr);
  CHECK(c.canonical_stage("finetune") == "retrain");
  for (const char* k : {"sgd", "adam", "adamw", "step", "multistep", "cosine", "onecycle", "crop", "flip", "cutout",
                        "mixup", "cutmix", "gridmask", "lr", "weights", "kd", "gradual", "soft_filter", "slimming"})
    CHECK_FALSE(c.calls_named(k).empty());
  const Type& methods = c.stage("quantize")->param("method")->type;
  for (const char* m : {"uniform", "kmeans", "apot", "float", "binary"})
    CHECK(std::find(methods.values.begin(), methods.values.end(), m) != methods.values.end());
}

TEST_CASE("the compiled catalog the build embeds is the YAML's, field for field, lines included", "[catalog]") {
  std::ifstream in(WHITTLE_SOURCE_DIR "/stdlib/stages.yaml");
  std::stringstream yaml;
  yaml << in.rdbuf();
  const Catalog from_yaml = Catalog::load(yaml.str(), "stdlib/stages.yaml");
  CHECK(catalog_to_json(Catalog::builtin()) == catalog_to_json(from_yaml));
  // The round trip is exact: unbounded ranges (JSON has no infinity) and every line come back.
  const std::string json = catalog_to_json(from_yaml);
  REQUIRE(is_compiled_catalog(json));
  CHECK(catalog_to_json(Catalog::load(json, "x.json")) == json);
  const ParamDef* lr = Catalog::builtin().stage("train")->param("epochs");
  REQUIRE(lr);
  CHECK(lr->line == from_yaml.stage("train")->param("epochs")->line);
  CHECK(lr->line > 0);
  CHECK_THROWS_AS(Catalog::load(R"({"compiled": 1, "families": 3})", "bad.json"), CatalogError);
}

TEST_CASE("every default and every rule value of the catalog checks", "[catalog]") {
  const Catalog& c = Catalog::builtin();
  for (const StageDef& s : c.stages()) {
    if (s.name == "search")
      continue;  // written as a statement, its parameters from its words (tests/golden/cases.recipes)
    std::string call = s.name;
    for (const ParamDef& p : s.params)
      if (p.required) call += fmt::format(" {}: {}", p.name, sample(p.type));
    auto a = whittle::test::run("data cifar10\nmodel resnet18 as m\ntrain 50 epochs\n" + call + "\nevaluate\n");
    INFO(call);
    CHECK(a->ok());
    for (const StageRule& r : s.rules) {
      for (const auto* list : {&r.when, &r.require, &r.forbid}) {
        for (const auto& [k, v] : *list) {
          auto b = whittle::test::run("data cifar10\nmodel resnet18\n" + s.name + " " + k + ": " + v + "\n");
          const StageInstance& inst = b->recipe.stages.back();
          INFO(s.name << " rule value " << k << ": " << v);
          REQUIRE(inst.value(k));
          CHECK(inst.value(k)->canonical() == v);
        }
      }
    }
  }
  for (const Family& f : c.families()) {
    for (const CallDef& k : f.kinds) {
      std::string args;
      for (const ParamDef& p : k.params)
        if (p.required) args += fmt::format("{}{}: {}", args.empty() ? "" : ", ", p.name, sample(p.type));
      std::string param;
      for (const StageDef& s : c.stages())
        for (const ParamDef& p : s.params)
          if (p.type.kind == TypeKind::Family && p.type.name == f.name && param.empty())
            param = s.name + " " + (s.name == "train" || s.name == "retrain" ? "5 epochs " : "") + p.name;
      if (param.empty())
        param = "data cifar10 augment: [" + k.name + "(" + args + ")]";
      else
        param += ": " + k.name + "(" + args + ")";
      auto a = whittle::test::run("data cifar10\nmodel resnet18 as m\ntrain 50 epochs\n" + param + "\nevaluate\n");
      INFO(param);
      CHECK(a->ok());
    }
  }
}

TEST_CASE("a malformed catalog is an error naming its file and line", "[catalog]") {
  auto error_of = [](const std::string& yaml) -> std::string {
    try {
      Catalog::load(yaml, "bad.yaml");
    } catch (const CatalogError& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(error_of("stages:\n  x:\n    doc: d\n    params:\n      a: {type: intt, default: \"1\", doc: d}\n") ==
        "bad.yaml:5: x.a: unknown type `intt`");
  CHECK(error_of("stages:\n  x:\n    doc: d\n    params:\n      a: {type: int, doc: d}\n") ==
        "bad.yaml:5: x.a needs exactly one of `default`, `required: true` or `inherit: true`");
  CHECK(
      error_of(
          "stages:\n  x:\n    doc: d\n    params:\n      a: {type: int, default: \"1\", range: \"0..1\", doc: d}\n") ==
      "bad.yaml:5: range `0..1` is not an interval such as \"[0, 100)\" or \"(0, inf)\"");
  CHECK(error_of("stages:\n  x:\n    doc: d\n    colour: red\n") == "bad.yaml:4: unknown key `colour` in stage x");
  CHECK(error_of("stages:\n  x: [unclosed\n").rfind("bad.yaml:", 0) == 0);
  CHECK(error_of("stages:\n  x:\n    doc: d\n    params:\n      a: {type: enum, default: \"a\", doc: d}\n") ==
        "bad.yaml:5: x.a: an enum needs a non-empty list of `values`");
  CHECK(error_of("stages:\n  x:\n    doc: d\n    role: trainer\n") ==
        "bad.yaml:4: stage x: `role` is start, train, compress, measure, table or deliver, not `trainer`");
}

TEST_CASE("what the rest of whittle relies on a stage to be is its catalog role, compiled with it", "[catalog]") {
  using Role = StageDef::Role;
  const Catalog& c = Catalog::builtin();
  const std::map<std::string, Role> expected{
      {"model", Role::Start},       {"train", Role::Train},      {"retrain", Role::Train}, {"prune", Role::Compress},
      {"quantize", Role::Compress}, {"evaluate", Role::Measure}, {"score", Role::Table},   {"sensitivity", Role::Table},
      {"export", Role::Deliver},    {"data", Role::None},        {"convert", Role::None},  {"search", Role::None}};
  for (const auto& [stage, role] : expected) {
    INFO(stage);
    REQUIRE(c.stage(stage));
    CHECK(c.stage(stage)->role == role);
  }
  CHECK(c.stage("finetune")->role == Role::Train);  // an alias is its stage
  for (const Role r : {Role::Start, Role::Train, Role::Compress, Role::Measure, Role::Table, Role::Deliver})
    CHECK(role_of_word(role_word(r)) == r);
  CHECK(role_of_word("") == Role::None);
}
