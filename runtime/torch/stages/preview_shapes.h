// The static preview's fast way (preview.h), for the stages a search or a sweep repeats over one
// model: a magnitude prune and a uniform quantize worked out from counts instead of by changing a
// LibTorch model's tensors. The model they start from is sorted once (a `WeightTable`: each layer's
// and each filter's weight magnitudes in order, and which magnitudes a uniform quantizer rounds to
// zero); a prune of any amount is then a threshold in that order, and the census (census.h) of what
// it leaves is binary searches per filter. The figures are exactly those the LibTorch way computes
// (tests/torch/test_preview_shapes.cc holds them equal on the shipped pipelines); a stage this way
// cannot express exactly (ties at a threshold, a structured or guided prune, another quantizer, a
// train) makes the model real again and goes the LibTorch way.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "runtime/plan/plan.h"
#include "runtime/torch/compression/census.h"
#include "runtime/torch/compression/quant.h"
#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

class WeightTable;

/// A model held as the table it started from and what was done to it since, by counts.
struct ShapeModel {
  std::shared_ptr<WeightTable> table;
  std::vector<int> stages;                      ///< the stages applied since the table's model, in order
  std::vector<std::int64_t> pruned;             ///< per layer, the weights a prune removed (empty: no prune)
  std::vector<bool> masked;                     ///< per layer, a prune's mask is on it
  std::vector<float> threshold;                 ///< per layer, the largest magnitude the prune removed
  std::vector<std::optional<QuantSpec>> quant;  ///< per layer (empty: no quantize)
  Census census;                                ///< of the model it stands for
};

/// A model to hold by counts: `net` is stage `stage`'s model. False (and `net` untouched) when it
/// cannot be (it is quantized, pruned, half precision, or int8).
bool can_hold_by_shapes(const Net& net);
ShapeModel hold_by_shapes(Net net, int stage);

/// What `s` (a prune, quantize or retrain) makes of `in`, by counts; none when this way cannot say
/// exactly (then make the model real and apply the stage to it).
std::optional<ShapeModel> apply_by_shapes(const lang::StageInstance& s, const ShapeModel& in);

/// The LibTorch model `m` stands for: a copy of the table's model with the stages since applied.
Net make_real(const Plan& plan, const ShapeModel& m);

}  // namespace whittle::runtime::torchrt
