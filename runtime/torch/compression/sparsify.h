// Pruning during training (`train ... sparsify:`): gradual magnitude pruning (Zhu & Gupta's cubic
// schedule), soft filter pruning (He et al. 2018) and network slimming's L1 penalty on BN scales.
#pragma once
#include <string>

#include "lang/checked.h"
#include "runtime/plan/stage.h"
#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

class Sparsify {
 public:
  /// From a train stage's `sparsify:`; nothing to do when it has none. Throws StageError when the
  /// schedule does not fit the train's epochs.
  Sparsify(const lang::StageInstance& train, int epochs);
  /// Network slimming: adds λ·sign(γ) to the gradient of every BatchNorm scale.
  void after_backward(Net& net) const;
  /// After `done` epochs: the next step of gradual pruning, or soft filter pruning's zeroing.
  void after_epoch(Net& net, int done, Progress& progress) const;
  /// The sparsity the train ends with, applied at once (`whittle plan`'s preview).
  void final_step(Net& net) const;

 private:
  std::string kind_;
  double to_ = 0, rate_ = 0, lambda_ = 0;
  int start_ = 0, end_ = 0, every_ = 1;
  bool global_ = true, l2_ = true;
};

}  // namespace whittle::runtime::torchrt
