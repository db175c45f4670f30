// The checker: binding, units, ranges, defaults, unrolling, names, and the dataflow rules.
#include <catch2/catch.hpp>

#include "tests/lang/helpers.h"

using namespace whittle;
using whittle::test::codes;
using whittle::test::run;
using V = std::vector<std::string>;

namespace {
const std::string head = "data cifar10\nmodel resnet18\n";
}

TEST_CASE("arguments bind by unit, enum word and name, with defaults filled", "[check]") {
  auto a = run(head + "train 10 epochs\nprune 20% global l2\nretrain 1 epoch\nevaluate\n");
  REQUIRE(codes(*a) == V{});
  const auto& prune = a->recipe.stages[3];
  CHECK(prune.kind == "prune");
  CHECK(prune.value("amount")->canonical() == "20%");
  CHECK(prune.value("scope")->canonical() == "global");
  CHECK(prune.value("criterion")->canonical() == "l2");
  CHECK(prune.param("structure")->origin == lang::Origin::Default);
  CHECK(prune.value("structure")->canonical() == "unstructured");
}

TEST_CASE("units are part of the type", "[check]") {
  CHECK(codes(*run(head + "train 20%\nevaluate\n")) == V{"E0201@3"});
  CHECK(codes(*run(head + "prune 20 epochs\nevaluate\n")) == V{"W0002@3", "E0201@3"});
  auto a = run(head + "prune 0.5\nevaluate\n");
  REQUIRE(codes(*a) == V{"W0002@3", "E0207@3"});
  CHECK(*test::find(*a, "E0207")->help == "did you mean `50%`?");
  CHECK(codes(*run(head + "train 10 epochs batch: 32 bits\nevaluate\n")) == V{"E0201@3"});
}

TEST_CASE("ranges are checked, for stages and inside calls", "[check]") {
  CHECK(codes(*run(head + "prune 120%\nevaluate\n")) == V{"W0002@3", "E0203@3"});
  CHECK(codes(*run(head + "quantize 0 bits\nevaluate\n")) == V{"E0203@3"});
  CHECK(codes(*run(head + "train 3 epochs optimizer: sgd(lr: -0.1)\nevaluate\n")) == V{"E0203@3"});
  auto a = run(head + "repeat 0 { evaluate }\n");
  CHECK(test::find(*a, "E0203") != nullptr);
}

TEST_CASE("unknown names get the nearest valid one", "[check]") {
  auto a =
      run(head +
          "prnue 20%\nprune 20% glboal\ntrain 3 epochs optimiser: sgd()\ntrain 3 epochs optimizer: sgdd()\nevaluate\n");
  REQUIRE(test::find(*a, "E0102"));
  CHECK(*test::find(*a, "E0102")->help == "did you mean `prune`?");
  CHECK(*test::find(*a, "E0103")->help == "did you mean `global`?");
  CHECK(*test::find(*a, "E0101")->help == "did you mean `optimizer`?");
  CHECK(*test::find(*a, "E0108")->help == "did you mean `sgd`?");
  auto b = run(head + "let rounds = 2\nrepeat $round { evaluate }\n");
  REQUIRE(test::find(*b, "E0104"));
  CHECK(*test::find(*b, "E0104")->help == "did you mean `rounds`?");
}

TEST_CASE("a parameter given twice and a name defined twice point at both places", "[check]") {
  auto a = run(head + "train 3 epochs batch: 32 batch: 64\nevaluate\n");
  REQUIRE(codes(*a) == V{"E0204@3"});
  CHECK(a->diags.all()[0].labels.size() == 2);
  auto b = run(head + "let x = 1\nlet x = 2\nrepeat $x { evaluate }\n");
  REQUIRE(codes(*b) == V{"E0105@4"});
  CHECK(b->sources.file(0).line_of(b->diags.all()[0].labels[1].span.begin) == 3);
  CHECK(test::find(*run(head + "prune 20% structured structured\nevaluate\n"), "E0204"));
}

TEST_CASE("repeat unrolls into separate stages, sweep fans out from one model", "[check]") {
  auto a = run(head +
               "train 10 epochs\nrepeat 3 {\n  prune 20%\n  retrain 1 epoch rewind: lr\n}\nsweep p in [10%, 20%] {\n  "
               "prune $p\n  retrain 1 epoch\n}\nevaluate\n");
  REQUIRE(a->ok());
  const auto& st = a->recipe.stages;
  REQUIRE(st.size() == 3 + 6 + 4 + 1);
  CHECK(st[3].where == "repeat 1/3");
  CHECK(st[8].where == "repeat 3/3");
  CHECK(st[4].model_in == 3);
  // Both sweep branches start from the last round's model; the chain goes on from it afterwards.
  CHECK(st[9].model_in == 8);
  CHECK(st[11].model_in == 8);
  CHECK(st[9].where == "sweep p=10%");
  CHECK(st[13].kind == "evaluate");
  CHECK(st[13].model_in == 8);
}

TEST_CASE("ranges expand with both ends included", "[check]") {
  auto a = run(head + "sweep p in 0%..80% by 20% { prune $p -> evaluate }  # whittle: allow(prune_without_retrain)\n");
  REQUIRE(codes(*a) == V{});
  V amounts;
  for (const auto& s : a->recipe.stages)
    if (s.kind == "prune") amounts.push_back(s.value("amount")->canonical());
  CHECK(amounts == V{"0%", "20%", "40%", "60%", "80%"});
}

TEST_CASE("define inlines with typed parameters and defaults", "[check]") {
  auto a =
      run("define lrr(rounds: int = 2, amount: percent = 20%, crit: l1|l2 = l1) {\n"
          "  repeat $rounds {\n    prune $amount global $crit\n    retrain 1 epoch rewind: lr\n  }\n}\n" +
          head + "train 5 epochs\nlrr 30% l2\nevaluate\n");
  REQUIRE(codes(*a) == V{});
  REQUIRE(a->recipe.stages.size() == 3 + 4 + 1);
  CHECK(a->recipe.stages[3].value("amount")->canonical() == "30%");
  CHECK(a->recipe.stages[3].value("criterion")->canonical() == "l2");
  CHECK(a->recipe.stages[3].call_sites.size() == 1);
  // An error inside the body caused by the call points at the caller's value.
  auto b = run("define p(amount: percent) { prune $amount }\n" + head + "p 120%\nevaluate\n");
  REQUIRE(test::find(*b, "E0203"));
  CHECK(b->sources.file(0).line_of(test::find(*b, "E0203")->primary().begin) == 4);
  CHECK(codes(*run("define p(amount: percent) { prune $amount }\n" + head + "p\nevaluate\n")) == V{"E0205@4"});
  CHECK(test::find(*run("define p() { p }\n" + head + "p\n"), "E0306"));
}

TEST_CASE("use resolves the stdlib and reports missing files", "[check]") {
  auto a = run("use \"std/rewinding.recipe\"\n" + head +
               "train 20 epochs\nlr_rewinding rounds: 2 epochs: 5 epochs\nevaluate\n");
  REQUIRE(codes(*a) == V{});
  CHECK(a->recipe.stages.size() == 3 + 4 + 1);
  CHECK(codes(*run("use \"std/rewinding\"\n" + head + "evaluate\n")) == V{});
  CHECK(codes(*run("use \"std/rewind.recipe\"\n" + head + "evaluate\n")) == V{"E0106@1"});
  CHECK(codes(*run("use \"nowhere/x.recipe\"\n" + head + "evaluate\n")) == V{"E0106@1"});
}

TEST_CASE("stages that need a model or data before one", "[check]") {
  CHECK(test::find(*run("prune 20%\n"), "E0301"));
  CHECK(codes(*run("model resnet18\ntrain 3 epochs\nevaluate\n")) == V{"E0302@1", "E0302@2", "E0302@3"});
}

TEST_CASE("retrain takes what it needs from the train its model descends from", "[check]") {
  auto a = run(head +
               "train 120 epochs optimizer: sgd(lr: 0.05) schedule: step(at: [90, 110]) batch: 64\n"
               "prune 20%\nretrain 60 epochs rewind: lr\nevaluate\n");
  REQUIRE(codes(*a) == V{});
  const auto& r = a->recipe.stages[4];
  CHECK(r.train == 2);
  CHECK(r.param("optimizer")->origin == lang::Origin::Inherited);
  CHECK(r.value("optimizer")->field("lr")->num == 0.05);
  CHECK(r.value("batch")->num == 64);
  CHECK(r.value("rewind")->canonical() == "lr()");
  CHECK(codes(*run(head + "train 40 epochs\nretrain 60 epochs rewind: lr\nevaluate\n")) == V{"E0304@4"});
  CHECK(codes(*run(head + "prune 20%\nretrain 6 epochs rewind: lr\nevaluate\n")) == V{"E0303@4"});
  CHECK(codes(*run(head + "train 40 epochs\nretrain 5 epochs rewind: weights(epoch: 50)\nevaluate\n")) == V{"E0305@4"});
  CHECK(codes(*run(head + "train 40 epochs\nretrain 10 epochs rewind: weights(epoch: 35)\nevaluate\n")) ==
        V{"E0304@4"});
  CHECK(codes(*run(head + "train 40 epochs\nretrain 10 epochs rewind: weights(epoch: 30)\nevaluate\n")) == V{});
  CHECK(codes(*run(head + "retrain 5 epochs\nevaluate\n")) == V{"E0303@3"});
  CHECK(codes(*run(head + "finetune 5 epochs optimizer: sgd(lr: 0.01)\nevaluate\n")) == V{});
}

TEST_CASE("the train is found along the model's own chain, never through a teacher", "[check]") {
  auto a = run(head +
               "train 10 epochs as teacher\nmodel resnet18 width: 16\n"
               "train 5 epochs distill: kd(teacher: $teacher)\nretrain 5 epochs rewind: lr\nevaluate\n");
  REQUIRE(codes(*a) == V{});
  CHECK(a->recipe.stages[5].train == 4);
  CHECK(a->recipe.stages[4].refs_in == std::vector<int>{2});
  CHECK(
      codes(*run(
          head +
          "train 10 epochs as t\nmodel resnet18\nretrain 5 epochs rewind: lr distill: kd(teacher: $t)\nevaluate\n")) ==
      V{"E0303@5"});
}

TEST_CASE("from continues a named model, names need to be models", "[check]") {
  auto a = run(head + "train 10 epochs as t\nprune 20%\nretrain 1 epoch\nfrom $t\nevaluate\n");
  REQUIRE(codes(*a) == V{});
  CHECK(a->recipe.stages.back().model_in == 2);
  CHECK(codes(*run(head + "let x = 3\nfrom $x\nevaluate\n")) == V{"E0202@4"});
}

TEST_CASE("a --set value overrides a top-level let", "[check]") {
  lang::CheckOptions o;
  o.overrides["rounds"] = "2";
  auto a = run(head + "let rounds = 7\ntrain 5 epochs\nrepeat $rounds { prune 20% -> retrain 1 epoch }\nevaluate\n", o);
  REQUIRE(codes(*a) == V{});
  CHECK(a->recipe.stages.size() == 3 + 4 + 1);
  o.overrides["nothing"] = "1";
  CHECK(test::find(*run(head + "let rounds = 7\nrepeat $rounds { evaluate }\n", o), "E0104"));
}

TEST_CASE("catalog rules catch options that do not go together", "[check]") {
  CHECK(codes(*run(head + "quantize 8 bits float\nevaluate\n")) == V{"E0208@3"});
  CHECK(codes(*run(head + "quantize 16 bits float\nevaluate\n")) == V{});
  CHECK(codes(*run(head + "quantize 1 bit binary\nevaluate\n")) == V{});
  CHECK(test::find(*run(head + "prune 20% thinet\nevaluate\n"), "E0208"));
}

TEST_CASE("an enormous expansion stops with one error", "[check]") {
  lang::CheckOptions o;
  o.max_stages = 50;
  auto a = run(head + "repeat 100 { evaluate }\n", o);
  CHECK(codes(*a) == V{"E0306@3"});
  CHECK_FALSE(a->recipe.complete);
}

TEST_CASE("the checked recipe dump lists defaults and inherited values", "[check]") {
  auto a = run("recipe demo\n" + head + "train 10 epochs\nretrain 2 epochs\nevaluate\n");
  REQUIRE(a->ok());
  const std::string d = lang::dump(a->recipe, a->sources);
  CHECK(d.rfind("recipe demo: 5 stages", 0) == 0);
  CHECK(d.find("optimizer        sgd(lr: 0.1, momentum: 0.9, nesterov: false, weight_decay: 0.0005, "
               "decay_norm_and_bias: true)  (from train #2)") != std::string::npos);
  CHECK(d.find("batch            128  (from train #2)") != std::string::npos);
}

TEST_CASE("an optimizer's parameter given to the stage says where it belongs", "[check][suggest]") {
  auto a = whittle::test::run("data synthetic\nmodel small_cnn\ntrain 1 epoch lr: 0.1\n");
  const auto* d = whittle::test::find(*a, "E0101");
  REQUIRE(d);
  REQUIRE(d->help);
  CHECK(*d->help == "`lr` is a parameter of the optimizer `sgd(...)`: write `optimizer: sgd(lr: 0.1)`");
  auto b = whittle::test::run("data synthetic\nmodel small_cnn\ntrain 1 epoch beta1: 0.8\n");
  const auto* e = whittle::test::find(*b, "E0101");
  REQUIRE(e);
  CHECK(*e->help == "`beta1` is a parameter of the optimizer `adam(...)`: write `optimizer: adam(beta1: 0.8)`");
}

TEST_CASE("an ONNX or TorchScript export after convert is an error at the export line, a state dict is not",
          "[check]") {
  const std::string head = "data synthetic\nmodel small_cnn\ntrain 1 epoch\nquantize 8 bits\nconvert\n";
  CHECK(whittle::test::codes(*whittle::test::run(head + "export \"m.onnx\"\n")) == std::vector<std::string>{"E0308@6"});
  CHECK(whittle::test::codes(*whittle::test::run(head + "export \"m.ts\" format: torchscript\n")) ==
        std::vector<std::string>{"E0308@6"});
  CHECK_FALSE(whittle::test::find(*whittle::test::run(head + "export \"m.pt\"\nexport \"m.safetensors\"\n"), "E0308"));
  CHECK_FALSE(whittle::test::find(
      *whittle::test::run("data synthetic\nmodel small_cnn\ntrain 1 epoch\nexport \"m.onnx\"\nconvert\n"), "E0308"));
}
