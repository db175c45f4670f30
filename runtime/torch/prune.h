// Pruning (COURSE.md, "Pruning"): unstructured by magnitude or at random, and structured filter
// pruning that masks or physically removes whole channels (models.h, ChannelGroup).
#pragma once
#include <ATen/core/Generator.h>

#include <string>

#include "runtime/torch/models.h"

namespace whittle::runtime::torchrt {

struct PruneSpec {
  double amount = 0;              ///< share of the weights (or filters) still alive to remove, in [0, 1)
  bool global = false;            ///< rank across layers instead of per layer
  std::string criterion = "l1";   ///< l1, l2, random, bn_gamma
  bool structured = false;
  bool physical = false;          ///< structured only: slice the channels out of the model
  bool spare_first = true, spare_last = true;
};

/// Prunes `net` in place; masks persist in net.masks. Ranks the weights the layers compute with
/// (a quantized layer's quantized weights). Throws StageError when the architecture or the
/// spec cannot be pruned this way.
void prune(Net& net, const PruneSpec& spec, at::Generator& gen);

}  // namespace whittle::runtime::torchrt
