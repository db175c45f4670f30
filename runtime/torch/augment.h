// Training augmentations on whole batches, seeded by the caller's generator: crop with padding,
// horizontal flip, cutout, mixup, CutMix and GridMask, applied in the order the recipe lists them.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "lang/checked.h"

namespace whittle::runtime::torchrt {

/// A training batch. Mixing augmentations (mixup, CutMix) set `y_mix` and `lam`: the loss is
/// lam·CE(out, y) + (1 − lam)·CE(out, y_mix).
struct Batch {
  torch::Tensor x, y, y_mix;
  double lam = 1;
};

class Augmenter {
 public:
  /// From the `augment:` list of a `data` stage (a list of augment calls).
  explicit Augmenter(const lang::Val& list);
  bool empty() const { return steps_.empty(); }
  /// Augments `b` in place (never the data set's own tensors). `progress` is the epochs elapsed,
  /// for GridMask's probability ramp.
  void apply(Batch& b, torch::Generator& gen, double progress) const;

 private:
  std::vector<const lang::Val*> steps_;
};

}  // namespace whittle::runtime::torchrt
