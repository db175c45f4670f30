// `whittle plan`'s static preview: for every stage, the model it will hold (parameters, non-zero
// weights, sparsity, MACs, bit widths, course score), worked out from the recipe alone before
// anything is trained, by building each chain's model and applying its prunes, quantizers and
// slimming to the freshly initialised weights.
#pragma once
#include <map>
#include <string>

#include "runtime/plan/plan.h"

namespace whittle::runtime::torchrt {

struct StagePreview {
  std::map<std::string, double>
      metrics;  ///< size_and_cost's (params, nonzero, sparsity, macs, bits, the score in every preset...)
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
  bool by_shapes = false;  ///< worked out by counts (preview_shapes.h), not on a LibTorch model
};

struct PruneSpec;
/// Which of a prune's previewed figures are estimates (`guided`: by a sensitivity scan; `masked`:
/// the model was pruned before): the prune stage's preview and the preview by counts
/// (preview_shapes.h) both mark them so.
void mark_prune_estimates(const PruneSpec& p, bool guided, bool masked, StagePreview& pv);

/// Previews every stage of the plan that holds a model (data stages have none). `by_shapes`: where
/// several prunes or quantizes read one model, work them out by counts (preview_shapes.h, the same
/// figures, much faster); false: every stage on a LibTorch model (what the tests compare it with).
std::map<int, StagePreview> preview_plan(const Plan& plan, bool by_shapes = true);

}  // namespace whittle::runtime::torchrt
