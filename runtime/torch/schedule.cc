#include "runtime/torch/schedule.h"

#include <algorithm>
#include <cmath>

namespace whittle::runtime::torchrt {
namespace {

/// Cosine interpolation from a (pct = 0) to b (pct = 1), as PyTorch's OneCycleLR anneals.
double cos_anneal(double a, double b, double pct) { return b + (a - b) / 2.0 * (1 + std::cos(M_PI * std::clamp(pct, 0.0, 1.0))); }

}  // namespace

double LrSchedule::at(double t) const {
  const std::string kind = sched && sched->kind == lang::Val::Kind::Call ? sched->str : "constant";
  if (kind == "onecycle") {  // PyTorch's OneCycleLR (cosine annealing), momentum left alone
    const double max_lr = sched->field("max_lr")->num, pct_start = sched->field("pct_start")->num;
    const double initial = max_lr / sched->field("div_factor")->num, final_lr = initial / sched->field("final_div_factor")->num;
    const double pos = std::clamp(t / epochs, 0.0, 1.0);
    return pos < pct_start ? cos_anneal(initial, max_lr, pos / pct_start) : cos_anneal(max_lr, final_lr, (pos - pct_start) / (1 - pct_start));
  }
  double lr = base;
  if (kind == "step" || kind == "multistep") {
    const double e = std::floor(t + 1e-9);
    const lang::Val* every = sched->field("every");
    int k = 0;
    if (every && every->num > 0) k = static_cast<int>(e / every->num);
    else if (const lang::Val* at = sched->field("at"))
      for (const auto& m : at->items) k += m.num <= e;
    lr = base * std::pow(sched->field("gamma")->num, k);
  } else if (kind == "cosine") {
    const double lo = sched->field("min_lr")->num;
    lr = lo + (base - lo) * 0.5 * (1 + std::cos(M_PI * std::min(t, epochs) / epochs));
  }
  const lang::Val* w = sched ? sched->field("warmup") : nullptr;
  if (w && w->num > 0 && t < w->num) return lr * (t + 1e-3) / w->num;  // linear warm-up from (almost) zero
  return lr;
}

}  // namespace whittle::runtime::torchrt
