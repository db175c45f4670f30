// What each layer of a finished stage's model holds, read back from the cache: for `whittle report`
// (sparsity per layer) and `whittle verify` (claims recomputed from the model). Torch-free header.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/plan.h"

namespace whittle::runtime::torchrt {

struct LayerStats {
  std::string name;
  std::int64_t weights = 0, nonzero = 0, macs = 0;
  int weight_bits = 32, activation_bits = 32;
};

/// Every conv and linear layer of the model stage `stage_id` produced (its cache entry folder
/// given), in registration order.
std::vector<LayerStats> stage_layers(const Plan& plan, int stage_id, const std::string& entry_dir);

}  // namespace whittle::runtime::torchrt
