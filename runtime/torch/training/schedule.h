// Learning-rate schedules as functions of the epochs elapsed (fractional: they step per iteration
// where the schedule is defined so: cosine, one-cycle, warm-up; step and multistep per epoch).
#pragma once
#include "lang/checked.h"

namespace whittle::runtime::torchrt {

struct LrSchedule {
  const lang::Val* sched = nullptr;  ///< a schedule call; null: constant
  double base = 0.1;                 ///< the optimizer's learning rate
  double epochs = 1;                 ///< the stage's length, for cosine and one-cycle
  /// The learning rate after t epochs (t may be fractional).
  double at(double t) const;
};

}  // namespace whittle::runtime::torchrt
