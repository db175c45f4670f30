// The stages that prune: `prune` (magnitude, random, BatchNorm-γ and ThiNet; per layer, global, or
// guided by a scan) and `sensitivity` (accuracy against sparsity, one layer at a time).
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <chrono>

#include "lang/files.h"
#include "runtime/system/atomic_file.h"
#include "runtime/torch/compression/prune.h"
#include "runtime/torch/compression/score.h"
#include "runtime/torch/compression/sensitivity.h"
#include "runtime/torch/stages/stage_context.h"
#include "runtime/torch/training/evaluate.h"

namespace whittle::runtime::torchrt {
namespace {

void run_prune(StageContext& ctx) {
  Net net = ctx.input_net();
  PruneSpec p = prune_spec(ctx.stage);
  if (p.criterion == "thinet") p.batches = ctx.seeded_batches(8, 64);
  if (const lang::Val& guide = ctx.params.value("guide"); guide.kind == lang::Val::Kind::Result) {
    if (p.of_all)
      throw StageError(
          "a guided prune scales the scan's picks to remove its share of the prunable weights, so `of: all` cannot "
          "apply",
          "leave `of: all` out of a prune with `guide:`");
    std::string error;
    const std::string file = (std::filesystem::path(ctx.job.entries.at(guide.ref)) / "sensitivity.json").string();
    const auto text = lang::read_regular_file(file, 64 << 20, error);
    if (!text) throw StageError(fmt::format("the scan's {}: {}", file, error));
    p.per_layer = guided_amounts(net, Sensitivity::from_json(*text), p);
    std::string csv = "layer,amount\n";
    for (const auto& [layer, a] : p.per_layer) csv += fmt::format("{},{:.6f}\n", layer, a);
    ctx.write("guide.csv", csv);
    write_file_atomic(ctx.partial("log.txt").string(), "per-layer amounts from the scan:\n" + csv);
  }
  auto gen = ctx.generator();
  prune(net, p, gen);
  ctx.save_model(net);
  ctx.model_metrics(net);
}

/// `sensitivity`: accuracy against sparsity, one layer at a time (sensitivity.h).
void run_sensitivity(StageContext& ctx) {
  const lang::StageInstance& s = ctx.stage;
  Dataset& d = ctx.data();
  Net net = ctx.input_net();
  const torch::Device dev = ctx.device();
  net.to(dev, false);
  Sensitivity settings;
  settings.amounts = ctx.params.fractions("amounts");
  settings.criterion = ctx.params.word("criterion");
  settings.structured = ctx.params.word("structure") == "structured";
  settings.max_drop = ctx.params.fraction("max_drop");
  // `auto`: the validation split when `data` holds one out, so the test set chooses nothing (W0007).
  settings.split = ctx.params.word("split");
  if (settings.split == "auto") settings.split = d.val_x.defined() ? "validation" : "test";
  auto [ex, ey] = eval_split(d, settings.split);
  const std::int64_t images = ctx.params.count("images");
  const torch::Tensor x = images > 0 ? ex->slice(0, 0, std::min(images, ex->size(0))) : *ex;
  const torch::Tensor y = images > 0 ? ey->slice(0, 0, std::min(images, ey->size(0))) : *ey;
  settings.images = x.size(0);
  auto gen = ctx.generator();
  const auto t0 = std::chrono::steady_clock::now();
  const Sensitivity scan = scan_sensitivity(
      net, settings, [&](Net& n) { return score_predictions(predict(*n.module, x, 512, dev), y, d.classes).accuracy; },
      gen,
      [&](std::size_t i, std::size_t n, const std::string& layer) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ctx.message(fmt::format("sensitivity #{}: layer {}/{} `{}` ({:.0f}s)", s.id, i + 1, n, layer, secs));
      });
  ctx.write("sensitivity.json", scan.json());
  ctx.write("sensitivity.csv", scan.csv());
  ctx.write("sensitivity.txt", scan.table());
  ctx.job.metrics["baseline_accuracy"] = scan.baseline;
  ctx.job.metrics["scanned_layers"] = static_cast<double>(scan.layers.size());
  ctx.job.metrics["picked_sparsity"] = scan.picked_sparsity();
  net.to(torch::kCPU, false);
  ctx.model_metrics(net);
}

/// The preview of a prune, on freshly initialised weights: ThiNet keeps as many filters per layer
/// as a norm would; a guided prune removes its amount of the layers' weights overall, split between
/// them as the scan will say (an estimate).
void preview_prune(const lang::StageInstance& s, Net& net, StagePreview& pv) {
  PruneSpec p = prune_spec(s);
  if (p.criterion == "thinet") p.criterion = "l1";
  const bool guided = Params(s).value("guide").kind == lang::Val::Kind::Result;
  if (guided) p.global = false;
  // Which filters go decides which of the weights pruned before go with them.
  bool masked = false;
  for (const auto& [name, m] : net.masks) masked = masked || !m.ne(0).all().item<bool>();
  mark_prune_estimates(p, guided, masked, pv);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  prune(net, p, gen);
}

}  // namespace

void mark_prune_estimates(const PruneSpec& p, bool guided, bool masked, StagePreview& pv) {
  pv.estimated = pv.estimated || guided || (p.structured && (p.global || masked));
  // A global magnitude prune of initialised weights empties whole filters that trained weights
  // keep, so the score (its p_s) is an estimate even where the counts are exact.
  pv.score_estimated = pv.score_estimated || pv.estimated || p.global;
}

extern const StageKind kPrune{"prune", run_prune, preview_prune};
extern const StageKind kSensitivity{"sensitivity", run_sensitivity};

}  // namespace whittle::runtime::torchrt
