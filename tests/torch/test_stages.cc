// The table of stage kinds (runtime/torch/stages/stage_context.h) against the catalog, and every stage run
// once through the runner on its catalog defaults: its parameters decoded by the typed reads,
// which refuse a name the catalog does not declare.
#include <catch2/catch.hpp>

#include <ATen/CPUGeneratorImpl.h>

#include <unistd.h>
#include <filesystem>
#include <set>

#include "lang/analyze.h"
#include "lang/catalog.h"
#include "runtime/cache/store.h"
#include "runtime/exec/executor.h"
#include "runtime/plan/plan.h"
#include "runtime/torch/compression/model_file.h"
#include "runtime/torch/compression/prune.h"
#include "runtime/torch/compression/quant.h"
#include "runtime/torch/data/data.h"
#include "runtime/torch/models/models.h"
#include "runtime/torch/stages/runner.h"
#include "runtime/torch/stages/stage_context.h"

using namespace whittle;
using namespace whittle::runtime;

TEST_CASE("the stage table holds exactly the catalog's runnable stages", "[stages]") {
  std::set<std::string> table, catalog, int8;
  for (const torchrt::StageKind* k : torchrt::stage_kinds()) {
    table.insert(k->name);
    CHECK(k->run != nullptr);
    if (k->accepts_int8) int8.insert(k->name);
  }
  for (const auto& s : lang::Catalog::builtin().stages())
    if (s.version > 0 && s.name != "search")
      catalog.insert(s.name);  // a search is decided by the executor (search_run.h)
  CHECK(table == catalog);
  CHECK(torchrt::stage_kind("search") == nullptr);
  CHECK(int8 == std::set<std::string>{"evaluate", "score", "export"});
  CHECK(torchrt::stage_kind("prune")->preview != nullptr);
  CHECK(torchrt::stage_kind("evaluate")->preview == nullptr);
  CHECK(torchrt::stage_kind("no_such_stage") == nullptr);
}

TEST_CASE("every stage runs on its catalog defaults, every parameter it reads declared", "[stages]") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("whittle-stages-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  // Each kind once, with only what it requires; `retrain` after `prune`, `convert` after the float stages.
  const std::string recipe =
      "data synthetic size: 96\nmodel small_cnn\ntrain 1 epoch\nsensitivity images: 32\nprune 20%\n"
      "retrain 1 epoch\nquantize 8 bits\nevaluate\nscore\nconvert\nevaluate\nexport \"" +
      (dir / "model.pt").string() + "\"\n";
  auto analysis = lang::analyze("defaults.recipe", recipe);
  REQUIRE_FALSE(analysis->diags.has_errors());
  ArtifactStore store((dir / "cache").string());
  auto plan = make_plan(std::move(analysis), store);
  REQUIRE(plan);
  std::set<std::string> kinds;
  for (const auto& st : plan->steps) kinds.insert(plan->stage(st.stage).kind);
  CHECK(kinds.size() == torchrt::stage_kinds().size());
  auto runner = make_torch_runner(1);
  Progress quiet;
  const ExecResult r = execute(*plan, store, *runner, quiet);
  for (const auto& d : r.diags.all()) UNSCOPED_INFO(d.message);
  CHECK(r.ok);
  for (const auto& o : r.outcomes) CHECK(o.status == "ran");
  std::filesystem::remove_all(dir);
}

TEST_CASE("a copy made into a spare net is the copy a fresh build gives, whatever the spare held",
          "[stages][preview]") {
  auto analysis = lang::analyze("copy.recipe", "data synthetic size: 64\nmodel small_cnn\ntrain 1 epoch\n");
  REQUIRE_FALSE(analysis->diags.has_errors());
  ArtifactStore store(
      (std::filesystem::temp_directory_path() / ("whittle-copy-" + std::to_string(::getpid()))).string());
  auto plan = make_plan(std::move(analysis), store);
  REQUIRE(plan);
  const lang::StageInstance& model = plan->stage(1);
  const torchrt::Shape shape = torchrt::dataset_shape(plan->stage(0));
  torchrt::Net src = torchrt::build_model(model, shape, 1);
  torchrt::PruneSpec half;
  half.amount = 0.5;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  torchrt::prune(src, half, gen);
  const std::string fresh = torchrt::net_bytes(torchrt::copy_net(*plan, 2, src));
  // The same structure, other weights and no masks: reused, and every tensor and mask is src's.
  CHECK(torchrt::net_bytes(torchrt::copy_net(*plan, 2, src, torchrt::build_model(model, shape, 2))) == fresh);
  // Masks src does not have are dropped.
  torchrt::Net masked = torchrt::build_model(model, shape, 4);
  torchrt::PruneSpec most;
  most.amount = 0.9;
  torchrt::prune(masked, most, gen);
  CHECK(torchrt::net_bytes(torchrt::copy_net(*plan, 2, src, std::move(masked))) == fresh);
  // Another structure (a quantizer src does not have): a fresh build instead.
  torchrt::Net quantized = torchrt::build_model(model, shape, 5);
  torchrt::QuantSpec four;
  four.method = "uniform";
  four.bits = 4;
  for (const auto& l : quantized.layers()) torchrt::quantize_layer(*l.module, four);
  CHECK(torchrt::net_bytes(torchrt::copy_net(*plan, 2, src, std::move(quantized))) == fresh);
  std::filesystem::remove_all(store.root());
}
