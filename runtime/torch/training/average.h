// Weight averaging while training (a train's or retrain's `average:`): a slow copy of the model's
// floating-point parameters and buffers (BatchNorm's running statistics included), pulled toward
// the trained ones every `every` steps, that becomes the stage's model at its end.
// - lookahead(every: k, decay: d), airbench's: at step s the slow copy moves 1 − a of the way to the
//   trained weights, a = d^k·(s/T)³ (T the stage's steps: early on it follows them, late it averages),
//   and the trained weights are set to it.
// - ema(every: k, decay: d): the slow copy moves 1 − d^k of the way; training goes on from its own
//   weights, and the model the stage keeps is the average.
// Its state goes into every epoch checkpoint, so that a resumed stage ends bitwise as an
// uninterrupted one.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lang/checked.h"
#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

class WeightAverage {
 public:
  /// From an `average:` value (`none`: inactive) over a stage of `total_steps` optimizer steps.
  WeightAverage(const lang::Val& average, std::int64_t total_steps);
  bool active() const { return kind_ != Kind::None; }

  /// The slow copy starts as `net` is now.
  void start(const Net& net);
  /// After optimizer step `step` (1-based, counted over the whole stage).
  void after_step(Net& net, std::int64_t step);
  /// The stage's end: the model becomes the slow copy.
  void finish(Net& net);

  /// The slow copy as a safetensors file, and back (a checkpoint of this stage's).
  std::string bytes() const;
  void load(const std::string& path);

  /// The pull of step `step`: how far (0 to 1) the slow copy moves toward the trained weights, or
  /// 0 when it does not move at that step.
  double pull(std::int64_t step) const;

 private:
  enum class Kind { None, Lookahead, Ema };
  /// The model's floating-point parameters and buffers, named as in its checkpoint ("p.NAME", "b.NAME").
  static std::vector<std::pair<std::string, torch::Tensor>> state(const Net& net);
  Kind kind_ = Kind::None;
  std::int64_t every_ = 1, total_ = 1;
  double decay_ = 0;
  std::vector<std::string> names_;
  std::vector<torch::Tensor> slow_;
};

}  // namespace whittle::runtime::torchrt
