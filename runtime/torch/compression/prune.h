// Pruning (docs/compression.md, "Pruning"): unstructured by magnitude or at random, and structured filter
// pruning that masks or physically removes whole channels (models.h, ChannelGroup).
#pragma once
#include <ATen/core/Generator.h>

#include <map>
#include <string>
#include <vector>

#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

struct PruneSpec {
  double amount = 0;             ///< share of the weights (or filters) still alive to remove, in [0, 1)
  bool global = false;           ///< rank across layers instead of per layer
  std::string criterion = "l1";  ///< l1, l2, random, bn_gamma, thinet
  bool structured = false;
  bool physical = false;  ///< structured only: slice the channels out of the model
  bool spare_first = true, spare_last = true;
  /// Unstructured: `amount` is of every non-zero parameter of the model (`of: all`), the weights
  /// removed still the prunable ones.
  bool of_all = false;
  /// When not empty: only these layers (structured: these producers) are pruned, each by its own
  /// amount; `amount` and `global` are not used. A sensitivity scan's trials and a guided prune.
  std::map<std::string, double> per_layer;
  /// thinet: training batches; the consumers' inputs on them are what the kept channels reconstruct.
  std::vector<torch::Tensor> batches;
};

/// The spec of a `prune` stage (without ThiNet's batches or a guide's per-layer amounts).
PruneSpec prune_spec(const lang::StageInstance& prune_stage);

/// The number of `amount` of `n` things to remove, rounded half to even as torch.nn.utils.prune
/// (Python's round) does.
std::int64_t share_of(double amount, std::int64_t n);

/// What an unstructured prune removes, from counts alone: the layers it ranks (by index into
/// Net::layers(), whose names are `layers`, with `alive[i]` weights not yet removed each) and how many
/// weights go: one count over them all when `global`, else one per target. `nonzero_all`: the
/// model's non-zero parameters (`of: all`; unused otherwise).
struct WeightPrune {
  std::vector<std::size_t> targets;
  bool global = false;
  std::vector<std::int64_t> k;
};
WeightPrune weight_prune(const PruneSpec& spec, const std::vector<std::string>& layers,
                         const std::vector<std::int64_t>& alive, std::int64_t nonzero_all);

/// Prunes `net` in place; masks persist in net.masks. Ranks the weights the layers compute with
/// (a quantized layer's quantized weights). Throws StageError when the architecture or the
/// spec cannot be pruned this way.
void prune(Net& net, const PruneSpec& spec, at::Generator& gen);

/// What a prune of this structure ranks, with how many of its units (weights, or filters when
/// structured) are alive: the conv/linear layers, or the producers of the channel groups, less the
/// spared first conv (and, unstructured, the spared last linear).
std::vector<std::pair<std::string, std::int64_t>> prune_targets(const Net& net, bool structured, bool spare_first,
                                                                bool spare_last);

}  // namespace whittle::runtime::torchrt
