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
  std::map<std::string, double> metrics;  ///< size_and_cost's (params, nonzero, sparsity, macs, bits, the score in every preset...)
  /// The totals follow from the recipe, but which layers lose what depends on trained weights (a
  /// global structured prune) or on a scan (`guide:`): per-layer figures such as MACs are estimates.
  bool estimated = false;
  /// The parameter counts and the sparsity follow from the recipe, but the score does not: a global
  /// prune on initialised weights empties whole filters (p_s) that trained weights keep. Set
  /// whenever `estimated` is.
  bool score_estimated = false;
  std::string note;  ///< why the stage has no figures (its model cannot be built)
  /// A `score` stage's preset: its figure is metrics["preset_score"], as the run computes it with
  /// its `count` (metrics holds every preset's score, like every other row's).
  std::string score_preset;
};

/// Previews every stage of the plan that holds a model (data stages have none).
std::map<int, StagePreview> preview_plan(const Plan& plan);

}  // namespace whittle::runtime::torchrt
