// What the course scores and the size figures count in a model, as plain numbers: per conv or linear
// layer its weights, their zeros (as the layer computes with them, and as stored), bits and MACs;
// the other parameters' sizes. score.h computes every figure from a census alone, so a census worked
// out from shapes and counts (preview_shapes.h) gives the figures a LibTorch model of it would.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

/// One conv or linear layer.
struct LayerCensus {
  bool conv = false;
  double n = 0;                 ///< weights
  double zeros = 0;             ///< zeros of the weight the layer computes with (its quantizer's)
  double structured = 0;        ///< of those, the zeros in whole zero filters (rows)
  double raw_zeros = 0;         ///< zeros of the stored weight
  bool masked = false;          ///< a pruning mask is on the weight
  double masked_zeros = 0;      ///< what the mask removes
  int wbits = 32, abits = 32;   ///< weight and input activation bits
  double quantizer_params = 0;  ///< its quantizer's scales, codebook, clipping level, activation range
  double macs = 0, out_elems = 0;
  // The 2021 profiler's op count: a conv's k_h·k_w·C_in/groups, its groups and bias; a linear's inputs and bias.
  double conv_k = 0, groups = 1, in_features = 0;
  bool bias = false;
};

struct Census {
  std::vector<LayerCensus> layers;  ///< in registration order (Net::layers())
  std::vector<double> others;       ///< every other parameter's size (BatchNorm, biases), quantizers' excluded
  double params = 0;                ///< every learnable parameter, quantizers' included (count_params)
  double raw_zeros_all = 0;         ///< zeros among all of them, as stored
  double macs = 0;                  ///< conv and linear MACs for one image
  double other_ops_2021 = 0;        ///< the 2021 profiler's ops outside conv and linear (BatchNorm, ReLU, AvgPool)
  bool half = false;
  std::int64_t in_channels = 0, in_height = 0, in_width = 0;

  double quantizer_params() const;  ///< summed over the layers, in order
};

/// The census of a model as it is.
Census census(const Net& net);

}  // namespace whittle::runtime::torchrt
