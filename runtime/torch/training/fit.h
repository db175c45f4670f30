// Training: the optimizer, the learning rate at every point of a train or retrain (rewinding
// included, docs/language.md "Meanings that are fixed"), and one epoch of training. The runner drives the
// epochs (checkpoints, evaluation, snapshots); weight rewinding replays a train's first epochs with
// the same Trainer, so a replayed epoch is the epoch the train ran.
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "runtime/plan/plan.h"
#include "runtime/plan/stage.h"
#include "runtime/torch/compression/sparsify.h"
#include "runtime/torch/data/augment.h"
#include "runtime/torch/data/data.h"
#include "runtime/torch/models/models.h"
#include "runtime/torch/training/average.h"

namespace whittle::runtime::torchrt {

/// A seed derived from a stage's cache key (and a salt: the epoch, ...).
std::uint64_t seed_of(const std::string& key, std::uint64_t salt = 0);

/// The optimizer of an `optimizer:` value over a model's parameters (no weight decay on BN and
/// biases unless `decay_norm_and_bias`). `norm_bias_lr` ≠ 1 (a stage's `norm_bias_lr:`): the
/// BatchNorm biases in a last group of their own, at that many times the learning rate and the weight
/// decay divided by it.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const lang::Val& opt, Net& net, double norm_bias_lr = 1);

/// The epoch K of a retrain's `rewind: weights(epoch: K)`, or -1.
int weight_rewind_epoch(const lang::StageInstance& s);

/// The settings one train or retrain stage trains with, and one epoch of it.
class Trainer {
 public:
  /// `key` seeds the epochs' shuffles and augmentation: the stage's own cache key.
  Trainer(const Plan& plan, const lang::StageInstance& s, std::string key, Dataset& data, torch::Device dev,
          Progress& progress);

  /// Trains one epoch (0-based `epoch`): shuffled with the epoch's seed, masks re-applied and the
  /// weight average (`average`) updated after every step, the stage's `sparsify` applied at its end,
  /// `whiten` biases learning only in their first epochs. Throws StageError when the loss is not finite.
  void epoch(Net& net, torch::optim::Optimizer& opt, int epoch, std::chrono::steady_clock::time_point t0);

  /// The learning rate after t epochs of this stage.
  double lr_at(double t) const { return lr_at_(t); }

  const lang::StageInstance& stage;
  const int epochs;
  const torch::Device dev;
  const bool amp, channels_last;
  const double norm_bias_lr;   ///< the BatchNorm biases' learning rate multiplier (make_optimizer)
  const std::int64_t batches;  ///< optimizer steps per epoch
  WeightAverage average;       ///< the stage's `average:` (inactive without one); the caller starts and finishes it
  Net* teacher = nullptr;      ///< distillation: set by the caller, which loads the teacher
  double kd_t = 1, kd_alpha = 0;
  double last_loss = 0, last_accuracy = 0;  ///< of the last epoch, on its training batches
  double last_seconds = 0;                  ///< the last epoch's training loop (device work included)

 private:
  std::string key_;
  Dataset& data_;
  Progress& progress_;
  std::function<double(double)> lr_at_;
  Augmenter augment_;
  Sparsify sparsify_;
  double smoothing_, clip_;
};

}  // namespace whittle::runtime::torchrt
