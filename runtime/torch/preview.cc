// The static preview (preview.h).
#include "runtime/torch/preview.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

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
    quantize_net(net, s);
  }
}

}  // namespace

std::map<int, StagePreview> preview_plan(const Plan& plan) {
  // A model is copied only when more than one stage still reads it, and dropped after its last reader.
  std::map<int, int> readers;
  for (const auto& step : plan.steps)
    if (plan.stage(step.stage).model_in >= 0) ++readers[plan.stage(step.stage).model_in];
  std::map<int, Net> nets;
  std::map<int, StagePreview> out;
  // Copies go through a checkpoint in a private folder (it keeps a slimmed model's shapes).
  const std::string tmp_dir = (std::filesystem::temp_directory_path() / fmt::format("whittle-preview-{}", ::getpid())).string();
  std::filesystem::create_directories(tmp_dir);
  const std::string tmp = (std::filesystem::path(tmp_dir) / "model.pt").string();
  auto copy = [&](int id) {
    save_net(nets.at(id), tmp);
    return load_stage_model(plan, id, tmp_dir);
  };
  for (const auto& step : plan.steps) {
    const lang::StageInstance& s = plan.stage(step.stage);
    if (s.kind == "data") continue;
    StagePreview pv;
    try {
      if (s.kind == "model") {
        Net net = build_model(s, dataset_shape(plan.stage(s.data_in)), seed_of(step.key));
        pv.metrics = size_and_cost(net);
        if (readers[s.id] > 0) nets.emplace(s.id, std::move(net));
      } else if (nets.count(s.model_in)) {
        pv.estimated = out[s.model_in].estimated;
        const bool last = --readers[s.model_in] == 0;
        if (s.produces_model()) {
          Net net = last ? std::move(nets.at(s.model_in)) : copy(s.model_in);
          apply(s, net, pv);
          pv.metrics = size_and_cost(net);
          if (readers[s.id] > 0) nets.emplace(s.id, std::move(net));
        } else {
          pv.metrics = size_and_cost(nets.at(s.model_in));
        }
        if (last) nets.erase(s.model_in);
      } else {
        pv.note = out.count(s.model_in) && !out[s.model_in].note.empty() ? out[s.model_in].note : "no model";
      }
    } catch (const std::exception& e) {
      pv.note = e.what();
      pv.metrics.clear();
    }
    out[s.id] = pv;
  }
  remove_tree(tmp_dir);
  return out;
}

}  // namespace whittle::runtime::torchrt
