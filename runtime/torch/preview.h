// `whittle plan`'s static preview: for every stage, the model it will hold (parameters, non-zero
// weights, sparsity, MACs, bit widths, course score), worked out from the recipe alone before
// anything is trained, by building each chain's model and applying its prunes, quantizers and
// slimming to the freshly initialised weights.
#pragma once
#include <map>
#include <string>

#include "runtime/plan.h"

namespace whittle::runtime::torchrt {

struct StagePreview {
  std::map<std::string, double> metrics;  ///< size_and_cost's (params, nonzero, sparsity, macs, bits, score (course2025)...)
  /// The totals follow from the recipe, but which layers lose what depends on trained weights (a
  /// global structured prune) or on a scan (`guide:`): per-layer figures such as MACs are estimates.
  bool estimated = false;
  std::string note;  ///< why the stage has no figures (its model cannot be built)
  /// A `score` stage's preset: its figure is metrics["preset_score"], as the run computes it
  /// (metrics["score"] stays course2025's, like every other row's).
  std::string score_preset;
};

/// Previews every stage of the plan that holds a model (data stages have none).
std::map<int, StagePreview> preview_plan(const Plan& plan);

}  // namespace whittle::runtime::torchrt
