// What each layer of a finished stage's model holds, read back from the cache: for `whittle report`
// (sparsity per layer) and `whittle verify` (claims recomputed from the model). Torch-free header.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/plan/plan.h"

namespace whittle::runtime::torchrt {

struct LayerStats {
  std::string name;
  std::int64_t weights = 0, nonzero = 0, macs = 0;
  int weight_bits = 32, activation_bits = 32;
};

/// Every conv and linear layer of the model stage `stage_id` produced (its cache entry folder
/// given), in registration order.
std::vector<LayerStats> stage_layers(const Plan& plan, int stage_id, const std::string& entry_dir);

/// The values of every conv and linear weight a model computes with (masks and quantizers
/// applied), zeros apart: `counts` has `bins` equal bins over [lo, hi] (values outside go to the
/// end bins). With lo >= hi the range is the data's own, symmetric about 0.
struct WeightHistogram {
  double lo = 0, hi = 0;
  std::vector<std::int64_t> counts;
  std::int64_t zeros = 0, total = 0, outside = 0;
  int distinct = 0;  ///< distinct non-zero values, up to 257 (a quantized model has few)
};
WeightHistogram weight_histogram(const Plan& plan, int stage_id, const std::string& entry_dir, double lo, double hi,
                                 int bins);

/// What a run says of the model stage `stage_id` produced, recomputed from its checkpoint in
/// `entry_dir`: parameters, non-zero weights, sparsity, MACs, bits, score and sizes (the figures of
/// the run table), and with `evaluate_stage` (>= 0) its accuracy on the test set that evaluate read:
/// the data of that stage's own `data` line (found as the `data` stage finds it), which need not be
/// the one the model was trained on. Throws StageError when the data cannot be found or read.
std::map<std::string, double> recompute_claims(const Plan& plan, int stage_id, const std::string& entry_dir,
                                               int evaluate_stage);

/// The parity of an ONNX or TorchScript file of the export stage `export_stage` (its bytes given,
/// never run: a file a submission brings is code): the export is written again from the model of
/// that stage's chain (loaded from its cache entry folder), must equal `bytes` exactly (else
/// StageError), and that file is read back by its runtime and evaluated on the test set beside the
/// model: export_accuracy, export_agreement, export_max_logit_diff, and export_images (the test images measured on).
std::map<std::string, double> recompute_export(const Plan& plan, int export_stage, const std::string& model_entry_dir,
                                               const std::string& bytes);

}  // namespace whittle::runtime::torchrt
