// The static preview (preview.h).
#include "runtime/torch/preview.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include "runtime/executor.h"
#include "runtime/store.h"
#include "runtime/torch/data.h"
#include "runtime/torch/fit.h"
#include "runtime/torch/prune.h"
#include "runtime/torch/quant.h"
#include "runtime/torch/score.h"
#include "runtime/torch/sparsify.h"

namespace whittle::runtime::torchrt {
namespace {

/// What a model-producing stage does to the weights' counts and widths.
void apply(const lang::StageInstance& s, Net& net, StagePreview& pv) {
  if (s.kind == "train") {
    {
      // Trained weights are not exactly zero where they start at zero (BatchNorm shifts, biases).
      torch::NoGradGuard no_grad;
      for (auto& p : net.module->parameters()) p.masked_fill_(p.eq(0), 1e-3);
      net.masks_changed();
      net.apply_masks();
    }
    Sparsify(s, static_cast<int>(s.value("epochs")->num)).final_step(net);
  } else if (s.kind == "prune") {
    PruneSpec p = prune_spec(s);
    // ThiNet keeps as many filters per layer as a norm would; a guided prune removes its amount
    // of the layers' weights overall, split between them as the scan says.
    if (p.criterion == "thinet") p.criterion = "l1";
    const bool guided = s.value("guide")->kind == lang::Val::Kind::Result;
    if (guided) p.global = false;
    // Which filters go decides which of the weights pruned before go with them.
    bool masked = false;
    for (const auto& [name, m] : net.masks) masked = masked || !m.ne(0).all().item<bool>();
    pv.estimated = pv.estimated || guided || (p.structured && (p.global || masked));
    auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
    prune(net, p, gen);
  } else if (s.kind == "quantize") {
    quantize_net(net, s, /*kmeans_iterations=*/0);
  }
}

}  // namespace

std::map<int, StagePreview> preview_plan(const Plan& plan) {
  // A model is kept while a stage that changes it is still to come, copied only when more than
  // one such stage reads it, and dropped after the last. A stage that only reads a model (evaluate,
  // score, export) takes its input's figures: nothing is recomputed for it.
  // `score` reads the model itself: its preset's figure, exactly as the run computes it.
  auto needs_net = [](const lang::StageInstance& s) { return s.produces_model() || s.kind == "score"; };
  std::map<int, int> writers;
  for (const auto& step : plan.steps)
    if (plan.stage(step.stage).model_in >= 0 && needs_net(plan.stage(step.stage))) ++writers[plan.stage(step.stage).model_in];
  std::map<int, Net> nets;
  std::map<int, StagePreview> out;
  for (const auto& step : plan.steps) {
    const lang::StageInstance& s = plan.stage(step.stage);
    if (s.kind == "data") continue;
    StagePreview pv;
    try {
      if (s.kind == "model") {
        Net net = build_model(s, dataset_shape(plan.stage(s.data_in)), seed_of(step.key));
        pv.metrics = size_and_cost(net);
        if (writers[s.id] > 0) nets.emplace(s.id, std::move(net));
      } else if (!needs_net(s)) {
        const auto in = out.find(s.model_in);
        if (in != out.end() && !in->second.metrics.empty()) {
          pv.metrics = in->second.metrics;
          pv.estimated = in->second.estimated;
        } else {
          pv.note = in != out.end() && !in->second.note.empty() ? in->second.note : "no model";
        }
      } else if (nets.count(s.model_in)) {
        pv.estimated = out[s.model_in].estimated;
        const bool last = --writers[s.model_in] == 0;
        if (s.kind == "score") {
          const Net& net = nets.at(s.model_in);
          pv.metrics = out[s.model_in].metrics;
          pv.score_preset = s.value("version")->str;
          pv.metrics["preset_score"] = score(net, {pv.score_preset, s.value("count")->str == "all"}).total;
          if (last) nets.erase(s.model_in);
        } else {
          Net net = last ? std::move(nets.at(s.model_in)) : copy_net(plan, s.model_in, nets.at(s.model_in));
          if (last) nets.erase(s.model_in);
          apply(s, net, pv);
          pv.metrics = size_and_cost(net);
          if (writers[s.id] > 0) nets.emplace(s.id, std::move(net));
        }
      } else {
        pv.note = out.count(s.model_in) && !out[s.model_in].note.empty() ? out[s.model_in].note : "no model";
      }
    } catch (const std::exception& e) {
      pv.note = e.what();
      pv.metrics.clear();
    }
    out[s.id] = pv;
  }
  return out;
}

}  // namespace whittle::runtime::torchrt
