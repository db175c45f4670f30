// The course score (docs/course.md, "The score") in its four presets, and model size, computed from the
// model as it is: zeros counted in the tensors, bit widths taken from the quantizers layer by layer.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "runtime/torch/compression/census.h"
#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

struct ScoreOptions {
  std::string version = "course2025";  ///< course2025, course2024, course2021, micronet2019
  bool all_params = true;              ///< w counts every learnable parameter; false: conv and linear weights only
  /// course2021: count as the course's profiler does (one precision for every parameter, no
  /// quantizer scales, no linear bias op) instead of each tensor at its own bits.
  bool profiler = false;
  /// Forward passes per image the deployed model makes (test-time augmentation): the ops term
  /// counts every one.
  int views = 1;
};

struct ScoreReport {
  std::string version;
  double w = 0;          ///< parameters counted (quantizer scales and codebooks included)
  double f = 0;          ///< MACs for one image (conv + linear); ops for course2021 and micronet2019
  double q_w = 32;       ///< weight bits, averaged over the weights when they differ by layer
  double q_a = 32;       ///< activation bits, averaged over the MACs when they differ by layer
  bool mixed = false;    ///< weight bit widths differ by layer
  bool mixed_a = false;  ///< activation bit widths differ by layer
  double p_s = 0, p_u = 0;
  double param_term = 0, ops_term = 0, total = 0;
  int views = 1;                      ///< the ops term is of this many forward passes per image
  std::vector<std::string> settings;  ///< how the open points were settled, for the report
  /// The report, every component on its own line.
  std::string text() const;
};

ScoreReport score(const Net& net, const ScoreOptions& options);
ScoreReport score(const Census& census, const ScoreOptions& options);

struct ModelSize {
  double stored_mib = 0;  ///< as stored: every parameter in float32 (float16 after `quantize 16 bits float`)
  double packed_mib = 0;  ///< every weight at its bit width, codebooks and scales in float32
  double sparse_mib =
      0;  ///< only non-zero weights at their bit width, plus a one-bit-per-weight index of the pruned tensors
};
ModelSize model_size(const Net& net);
ModelSize model_size(const Census& census);

/// What every model-producing stage records: parameters, non-zero parameters, sparsity among the
/// conv/linear weights pruning touched (all of them before any pruning), MACs for one image, weight
/// and activation bits, the score in every preset (runtime/plan/metrics.h score_key), and the size in MiB as stored,
/// packed, and packed sparse. `views` > 1: the scores of a model evaluated with test-time augmentation, every view's
/// ops counted.
std::map<std::string, double> size_and_cost(const Net& net, int views = 1);
/// The same from a census (census.h).
std::map<std::string, double> figures(const Census& census, int views = 1);

/// Bits of the weights and of the input activations of a conv or linear layer.
int weight_bits(const Net& net, const LayerRef& l);
int activation_bits(const Net& net, const LayerRef& l);

}  // namespace whittle::runtime::torchrt
