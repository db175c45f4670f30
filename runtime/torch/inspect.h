// What each layer of a finished stage's model holds, read back from the cache: for `whittle report`
// (sparsity per layer) and `whittle verify` (claims recomputed from the model). Torch-free header.
#pragma once
#include <cstdint>
#include <map>
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

/// What a run says of the model stage `stage_id` produced, recomputed from its checkpoint in
/// `entry_dir`: parameters, non-zero weights, sparsity, MACs, bits, score and sizes (the figures of
/// the run table), and with `test_accuracy` its accuracy on the test set of its chain's data (found
/// as the `data` stage finds it). Throws StageError when the data cannot be found or read.
std::map<std::string, double> recompute_claims(const Plan& plan, int stage_id, const std::string& entry_dir, bool test_accuracy);

}  // namespace whittle::runtime::torchrt
