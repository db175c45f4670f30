// Training augmentations on whole batches, seeded by the caller's generator: crop with padding,
// translate (reflected edges), horizontal flip (random or in alternate epochs), cutout, mixup,
// CutMix and GridMask, applied in the order the recipe lists them.
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
  torch::Tensor index;  ///< int64 [N] on the CPU: each image's place in the training split (alternate_flip)
};

class Augmenter {
 public:
  /// From the `augment:` list of a `data` stage (a list of augment calls); `seed` (the data stage's)
  /// picks which images alternate_flip shows flipped first.
  explicit Augmenter(const lang::Val& list, std::uint64_t seed = 0);
  bool empty() const { return steps_.empty(); }
  /// Augments `b` in place (never the data set's own tensors). `progress` is the epochs elapsed,
  /// for GridMask's probability ramp and alternate_flip's epoch.
  void apply(Batch& b, torch::Generator& gen, double progress) const;

 private:
  std::vector<const lang::Val*> steps_;
  std::uint64_t seed_ = 0;
};

}  // namespace whittle::runtime::torchrt
