// Caching and planning behaviour with a fake runner (no LibTorch): what reruns, and why.
#include <catch2/catch.hpp>

#include <map>

#include <filesystem>
#include <fstream>
#include <set>

#include "lang/catalog.h"
#include "runtime/exec/executor.h"
#include "runtime/exec/run_finish.h"
#include "runtime/plan/keys.h"
#include "runtime/plan/plan.h"
#include "runtime/plan/stages.h"
#include "tests/runtime/fake_runner.h"

namespace fs = std::filesystem;
using namespace whittle;
using namespace whittle::runtime;

namespace {

using test::Fixture;

const std::string recipe =
    "recipe cache_test\ndata synthetic\nmodel small_cnn\ntrain 3 epochs\nrepeat 2 {\n  prune 20% global l1\n  retrain "
    "1 epoch rewind: lr\n}\nevaluate\n";
using V = std::vector<std::string>;

}  // namespace

TEST_CASE("a rerun with nothing changed runs nothing", "[cache]") {
  Fixture f;
  const auto file = f.write("r.recipe", recipe);
  CHECK(f.run(file).size() == 8);
  CHECK(f.run(file).empty());
}

TEST_CASE("stages run in the recipe's order wherever their inputs allow", "[cache]") {
  Fixture f;
  // Three leaves (the evaluates) hang off different points of the chain: a depth-first order would
  // put them last, in reverse.
  const auto file = f.write("r.recipe",
                            "recipe order\ndata synthetic\nmodel small_cnn\ntrain 1 epoch\nevaluate\nprune 50%\n"
                            "evaluate\nretrain 1 epoch\nevaluate\n");
  CHECK(f.run(file) ==
        V{"#0 data", "#1 model", "#2 train", "#3 evaluate", "#4 prune", "#5 evaluate", "#6 retrain", "#7 evaluate"});
}

TEST_CASE("changing the last stage runs exactly that stage, the first everything downstream", "[cache]") {
  Fixture f;
  const auto file = f.write("r.recipe", recipe);
  f.run(file);
  f.write("r.recipe", recipe.substr(0, recipe.size() - 9) + "evaluate batch: 64\n");
  CHECK(f.run(file) == V{"#7 evaluate"});
  f.write("r.recipe",
          "recipe cache_test\ndata synthetic size: 512\nmodel small_cnn\ntrain 3 epochs\nrepeat 2 {\n  prune 20% "
          "global l1\n"
          "  retrain 1 epoch rewind: lr\n}\nevaluate batch: 64\n");
  CHECK(f.run(file).size() == 8);
}

TEST_CASE("comments, layout and the file's name do not invalidate anything", "[cache]") {
  Fixture f;
  f.run(f.write("r.recipe", recipe));
  const auto other =
      f.write("renamed.recipe",
              "# the same recipe, reformatted\nrecipe cache_test\n\ndata   synthetic\nmodel small_cnn  # tiny\n"
              "train 3 epochs\nrepeat 2 { prune 20% global l1 ; retrain 1 epoch rewind: lr }\nevaluate\n");
  CHECK(f.run(other).empty());
}

TEST_CASE("plan --explain says why each stale stage must run", "[cache]") {
  Fixture f;
  const auto file = f.write("r.recipe", recipe);
  auto first = f.plan(file);
  CHECK(first->steps[0].reason == "not in the cache");
  f.run(file);
  f.write("r.recipe",
          "recipe cache_test\ndata synthetic\nmodel small_cnn\ntrain 3 epochs\nrepeat 2 {\n  prune 25% global l1\n"
          "  retrain 1 epoch rewind: lr\n}\nevaluate\n");
  auto p = f.plan(file);
  CHECK(p->stale_count() == 5);
  CHECK(p->steps[3].fresh == false);
  CHECK(p->steps[3].reason == "params changed: amount: 20% → 25%");
  CHECK(p->steps[4].reason == "input changed: model from #3 prune");
  CHECK(p->steps[2].fresh);
}

TEST_CASE("a flipped byte in a cache entry is reported and only that stage recomputed", "[cache]") {
  Fixture f;
  const auto file = f.write("r.recipe", recipe);
  f.run(file);
  auto p = f.plan(file);
  const fs::path victim = fs::path(f.store->entry_dir(p->keys[4])) / "model.pt";
  {
    std::fstream io(victim, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(3);
    io.put('X');
  }
  ExecResult res;
  CHECK(f.run(file, &res) == V{"#4 retrain"});
  REQUIRE(res.diags.all().size() == 1);
  CHECK(res.diags.all()[0].code == "R0004");
  CHECK(res.diags.all()[0].message.find("does not match its checksum") != std::string::npos);
  CHECK(f.run(file).empty());
}

TEST_CASE("a failing stage stops the run at its line and keeps what finished", "[cache]") {
  Fixture f;
  const auto file = f.write("r.recipe", recipe);
  f.fail_kind = "retrain";
  ExecResult res;
  CHECK(f.run(file, &res) == V{"#0 data", "#1 model", "#2 train", "#3 prune"});
  CHECK_FALSE(res.ok);
  REQUIRE(res.diags.all().size() == 1);
  const auto& d = res.diags.all()[0];
  CHECK(d.code == "R0003");
  CHECK(d.message == "stage #4 retrain failed: the loss became nan at epoch 2, batch 7");
  CHECK(*d.help == "lower the learning rate");
  f.fail_kind.clear();
  CHECK(f.run(file) == V{"#4 retrain", "#5 prune", "#6 retrain", "#7 evaluate"});
}

TEST_CASE("keys ignore the device but not the seed", "[cache]") {
  Fixture f;
  auto a = f.plan(f.write("a.recipe", "data synthetic\nmodel small_cnn\ntrain 2 epochs device: cpu\nevaluate\n"));
  auto b = f.plan(f.write("b.recipe", "data synthetic\nmodel small_cnn\ntrain 2 epochs device: auto\nevaluate\n"));
  auto c = f.plan(f.write("c.recipe", "seed 1\ndata synthetic\nmodel small_cnn\ntrain 2 epochs\nevaluate\n"));
  CHECK(a->keys == b->keys);
  CHECK(a->keys[2] != c->keys[2]);
}

TEST_CASE("the catalog's key policy decides what a key holds, and the key text of a stage is stable", "[cache]") {
  Fixture f;
  auto p = f.plan(f.write("k.recipe",
                          "data synthetic test_subset: 0 root: \"/elsewhere\"\nmodel small_cnn\n"
                          "train 2 epochs device: cpu eval_every: 1 snapshot_every: 3\n"));
  const auto& data = p->stage(0);
  const auto& train = p->stage(2);
  const std::string text = key_text(train, {"model abc"}, "");
  // The train's key, exactly: what a cache of an earlier release keyed (its entries stay valid).
  CHECK(
      text ==
      "whittle-key 1\nkind: train\nimplementation: 3\nseed: 0\nparam batch: 128\nparam channels_last: false\n"
      "param clip: 0\nparam distill: none\nparam epochs: 2 epochs\nparam label_smoothing: 0\n"
      "param optimizer: sgd(lr: 0.1, momentum: 0.9, nesterov: false, weight_decay: 0.0005, decay_norm_and_bias: true)\n"
      "param precision: fp32\nparam schedule: constant(warmup: 0)\nparam sparsify: none\ninput: model abc\n");
  const std::string dtext = key_text(data, {}, "fp");
  // No `root` (key: false), no `test_subset` (key: unless_default, at its default).
  CHECK(dtext ==
        "whittle-key 1\nkind: data\nimplementation: 1\nseed: 0\nparam augment: []\nparam dataset: synthetic\n"
        "param normalize: true\nparam size: 1024\nparam subset: 0\nparam validation: 0%\ndata: fp\n");
  auto q = f.plan(f.write("q.recipe", "data synthetic test_subset: 256\nmodel small_cnn\nevaluate\n"));
  // test_subset changes only what is evaluated: not in the data's key, in the evaluation's.
  CHECK(key_text(q->stage(0), {}, "fp") == dtext);
  CHECK(test_view(q->stage(2), q->analysis->recipe.stages) == "test test_subset: 256\n");
  CHECK(test_view(q->stage(1), q->analysis->recipe.stages).empty());
  // Every stage's implementation version, pinned: a version is part of every key of its stage, so a
  // change here discards those cache entries and must be on purpose (bump it here and in the catalog).
  const std::map<std::string, int> pinned = {{"data", 1},     {"model", 3},       {"train", 3},    {"retrain", 3},
                                             {"prune", 3},    {"sensitivity", 2}, {"quantize", 1}, {"convert", 2},
                                             {"evaluate", 3}, {"score", 2},       {"export", 1},   {"search", 1}};
  std::map<std::string, int> versions;
  for (const auto& s : lang::Catalog::builtin().stages()) versions[s.name] = stage_version(s.name);
  for (const auto& [name, v] : pinned) {
    INFO(name);
    CHECK(versions.count(name) == 1);
    if (versions.count(name)) CHECK(versions.at(name) == v);
  }
  CHECK(versions.size() == pinned.size());
  // The runtime runs exactly the stages with a version.
  for (const auto& [name, v] : versions) CHECK(runnable_stages().count(name) == (v > 0 ? 1u : 0u));
  CHECK(stage_version("no_such_stage") == 0);
}

TEST_CASE("dropping test_subset reruns only the stages that read the test split", "[cache]") {
  Fixture f;
  const std::string body =
      "model small_cnn\ntrain 2 epochs\nsensitivity images: 32 as s\nprune 50% guide: $s\nretrain 1 epoch\nevaluate\n"
      "evaluate test_subset: 100\nexport \"m.pt\"\n";
  auto slice = f.plan(f.write("a.recipe", "data synthetic test_subset: 500\n" + body));
  auto whole = f.plan(f.write("b.recipe", "data synthetic\n" + body));
  REQUIRE(slice->keys.size() == whole->keys.size());
  std::vector<std::string> changed;
  for (std::size_t i = 0; i < slice->keys.size(); ++i)
    if (slice->keys[i] != whole->keys[i]) changed.push_back(slice->stage(static_cast<int>(i)).kind);
  // The sensitivity scan reads the test split (no validation split here), and the prune it guides
  // follows it; the training before it never reruns.
  CHECK(changed == std::vector<std::string>{"sensitivity", "prune", "retrain", "evaluate", "evaluate", "export"});
  auto plain =
      f.plan(f.write("c.recipe", "data synthetic test_subset: 500\nmodel small_cnn\ntrain 2 epochs\nevaluate\n"));
  auto full = f.plan(f.write("d.recipe", "data synthetic\nmodel small_cnn\ntrain 2 epochs\nevaluate\n"));
  CHECK(plain->keys[0] == full->keys[0]);
  CHECK(plain->keys[2] == full->keys[2]);
  CHECK(plain->keys[3] != full->keys[3]);
}

TEST_CASE("every catalog stage runs, and missing data is refused before anything runs", "[cache]") {
  Fixture f;
  ArtifactStore store((f.dir / "cache").string());
  for (const auto& s : lang::Catalog::builtin().stages()) CHECK(runnable_stages().count(s.name) == 1);
  auto q = make_plan(
      lang::analyze_file(f.write("c.recipe", "data cifar10 root: \"/nonexistent\"\nmodel small_cnn\nevaluate\n")),
      store);
  REQUIRE(q->analysis->diags.has_errors());
  CHECK(q->analysis->diags.all()[0].code == "R0002");
}

TEST_CASE("the store commits atomically and gc keeps what recipes reach", "[cache]") {
  Fixture f;
  const auto file = f.write("r.recipe", recipe);
  f.run(file);
  CHECK(f.store->list().size() == 8);
  for (const auto& e : fs::directory_iterator(f.dir / "cache" / "tmp")) FAIL("left in tmp: " << e.path());
  auto other = f.write("o.recipe", "data synthetic\nmodel small_cnn\ntrain 1 epoch\nevaluate\n");
  f.run(other);
  CHECK(f.store->list().size() == 10);  // its data and model stages are the same entries as the first's
  auto keep = f.plan(file);
  auto [n, bytes] = f.store->gc(keep->keys);
  CHECK(n == 2);
  CHECK(f.run(file).empty());
}
