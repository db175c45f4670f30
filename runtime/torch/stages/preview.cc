// The static preview (preview.h).
#include "runtime/torch/stages/preview.h"
#include "runtime/torch/compression/model_file.h"

#include <fmt/format.h>

#include "runtime/plan/params.h"
#include "runtime/plan/stage.h"
#include "runtime/torch/compression/prune.h"
#include "runtime/torch/compression/score.h"
#include "runtime/torch/data/data.h"
#include "runtime/torch/stages/preview_shapes.h"
#include "runtime/torch/stages/stage_context.h"
#include "runtime/torch/training/evaluate.h"
#include "runtime/torch/training/fit.h"

namespace whittle::runtime::torchrt {

std::map<int, StagePreview> preview_plan(const Plan& plan, bool by_shapes) {
  // A model is kept while a stage that changes it is still to come, copied only when more than
  // one such stage reads it, and dropped after the last. A stage that only reads a model (evaluate,
  // score, export) takes its input's figures: nothing is recomputed for it.
  // `score` reads the model itself: its preset's figure, exactly as the run computes it; so does an
  // `evaluate` with test-time augmentation, whose score counts every view.
  auto views_of = [](const lang::StageInstance& s) {
    return s.kind == "evaluate" ? tta_views(Params(s).word("tta")) : 1;
  };
  auto needs_net = [&](const lang::StageInstance& s) {
    return s.produces_model() || s.kind == "score" || views_of(s) > 1;
  };
  std::map<int, int> writers;
  for (const auto& step : plan.steps)
    if (plan.stage(step.stage).model_in >= 0 && needs_net(plan.stage(step.stage)))
      ++writers[plan.stage(step.stage).model_in];
  std::map<int, Net> nets;
  // Nets no stage needs any more, by their chain's `model` stage: a copy is made into one of them
  // when its structure fits (copying tensors costs a fraction of building a model).
  std::map<int, std::vector<Net>> spare;
  auto drop = [&](int id, Net net) { spare[plan.chain_model(id).id].push_back(std::move(net)); };
  auto copy_of = [&](int id) {
    auto& pool = spare[plan.chain_model(id).id];
    std::optional<Net> reuse;
    if (!pool.empty()) reuse = std::move(pool.back()), pool.pop_back();
    return copy_net(plan, id, nets.at(id), std::move(reuse));
  };
  std::map<int, StagePreview> out;
  // Models held by counts (preview_shapes.h).
  std::map<int, ShapeModel> shapes;
  // A stage that changes the model, applied to `net`: the model it leaves is kept for the stages
  // that read it.
  auto apply_net = [&](const lang::StageInstance& s, Net net, StagePreview& pv) {
    // A retrain leaves the figures as they are (the preview trains nothing): its input's, not
    // counted again (a search's candidates each end in one).
    if (const StageKind* kind = stage_kind(s.kind); kind && kind->preview) kind->preview(s, net, pv);
    pv.metrics = s.kind == "retrain" && !out[s.model_in].metrics.empty() ? out[s.model_in].metrics : size_and_cost(net);
    if (writers[s.id] > 0)
      nets.emplace(s.id, std::move(net));
    else
      drop(s.id, std::move(net));
  };
  // A `score` stage's figure: its preset's, as the run computes it with its `count`.
  auto set_score = [](const lang::StageInstance& s, const Census& c, StagePreview& pv) {
    const Params params(s);
    pv.score_preset = params.word("version");
    pv.metrics["preset_score"] =
        score(c, {pv.score_preset, params.word("count") == "all", params.word("convention") == "profiler"}).total;
  };
  for (const auto& step : plan.steps) {
    const lang::StageInstance& s = plan.stage(step.stage);
    if (s.kind == "data") continue;
    StagePreview pv;
    try {
      if (s.kind == "model" && Params(s).word("arch") == "torchscript") {
        // Building it would run the module's code (its forward): a preview never does that.
        pv.note = "a scripted network: figures after `whittle run`, since a preview runs no module's code";
      } else if (s.kind == "model") {
        Net net = build_model(s, dataset_shape(plan.stage(s.data_in)), seed_of(step.key));
        pv.metrics = size_and_cost(net);
        if (writers[s.id] > 0) nets.emplace(s.id, std::move(net));
      } else if (!needs_net(s)) {
        const auto in = out.find(s.model_in);
        if (in != out.end() && !in->second.metrics.empty()) {
          pv.metrics = in->second.metrics;
          pv.estimated = in->second.estimated;
          pv.score_estimated = in->second.score_estimated;
        } else {
          pv.note = in != out.end() && !in->second.note.empty() ? in->second.note : "no model";
        }
      } else if (nets.count(s.model_in) || shapes.count(s.model_in)) {
        pv.estimated = out[s.model_in].estimated;
        pv.score_estimated = out[s.model_in].score_estimated;
        // Several prunes or quantizes of one model (a search's candidates, a sweep's branches): the
        // model is held by counts from here on, each of them worked out without copying it.
        if (nets.count(s.model_in) && writers[s.model_in] >= 2 && s.is(lang::StageDef::Role::Compress) && by_shapes &&
            can_hold_by_shapes(nets.at(s.model_in))) {
          shapes.emplace(s.model_in, hold_by_shapes(std::move(nets.at(s.model_in)), s.model_in));
          nets.erase(s.model_in);
        }
        const bool last = --writers[s.model_in] == 0;
        if (shapes.count(s.model_in)) {
          const ShapeModel& in = shapes.at(s.model_in);
          std::optional<ShapeModel> made;
          pv.by_shapes = true;
          if (s.kind == "score") {
            pv.metrics = out[s.model_in].metrics;
            set_score(s, in.census, pv);
          } else if (s.kind == "evaluate") {
            pv.metrics = figures(in.census, views_of(s));
          } else if ((made = apply_by_shapes(s, in))) {
            if (s.kind == "prune") mark_prune_estimates(prune_spec(s), false, false, pv);
            pv.metrics = s.kind == "retrain" && !out[s.model_in].metrics.empty() ? out[s.model_in].metrics
                                                                                 : figures(made->census);
            if (writers[s.id] > 0) shapes.emplace(s.id, std::move(*made));
          } else {
            pv.by_shapes = false;
            apply_net(s, make_real(plan, in), pv);
          }
          if (last) shapes.erase(s.model_in);
        } else if (s.kind == "score") {
          const Net& net = nets.at(s.model_in);
          pv.metrics = out[s.model_in].metrics;
          set_score(s, census(net), pv);
          if (last) drop(s.model_in, std::move(nets.at(s.model_in))), nets.erase(s.model_in);
        } else if (s.kind == "evaluate") {
          pv.metrics = size_and_cost(nets.at(s.model_in), views_of(s));
          if (last) drop(s.model_in, std::move(nets.at(s.model_in))), nets.erase(s.model_in);
        } else {
          Net net = last ? std::move(nets.at(s.model_in)) : copy_of(s.model_in);
          if (last) nets.erase(s.model_in);
          apply_net(s, std::move(net), pv);
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
