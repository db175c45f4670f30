#include "runtime/torch/training/schedule.h"

#include <algorithm>
#include <cmath>

#include "runtime/plan/params.h"

namespace whittle::runtime::torchrt {
namespace {

/// Cosine interpolation from a (pct = 0) to b (pct = 1), as PyTorch's OneCycleLR anneals.
double cos_anneal(double a, double b, double pct) {
  return b + (a - b) / 2.0 * (1 + std::cos(M_PI * std::clamp(pct, 0.0, 1.0)));
}

}  // namespace

double LrSchedule::at(double t) const {
  const std::string kind = sched && sched->kind == lang::Val::Kind::Call ? sched->str : "constant";
  if (!sched || sched->kind != lang::Val::Kind::Call) return base;  // no schedule: constant
  const Params p(*sched);
  if (kind == "onecycle") {  // PyTorch's OneCycleLR (cosine annealing), momentum left alone
    const double max_lr = p.number("max_lr"), pct_start = p.number("pct_start");
    const double initial = max_lr / p.number("div_factor"), final_lr = initial / p.number("final_div_factor");
    const double pos = std::clamp(t / epochs, 0.0, 1.0);
    return pos < pct_start ? cos_anneal(initial, max_lr, pos / pct_start)
                           : cos_anneal(max_lr, final_lr, (pos - pct_start) / (1 - pct_start));
  }
  if (kind == "triangle") {  // airbench: start·lr → lr at `peak`, then → end·lr, linearly
    const double start = p.number("start"), peak = p.number("peak"), end = p.number("end");
    const double pos = std::clamp(t / epochs, 0.0, 1.0);
    const double m = pos < peak ? start + (1 - start) * pos / peak : 1 + (end - 1) * (pos - peak) / (1 - peak);
    return base * m;
  }
  double lr = base;
  if (kind == "step" || kind == "multistep") {
    const double e = std::floor(t + 1e-9);
    const double every = p.declares("every") ? p.number("every") : 0;  // multistep has milestones only
    int k = 0;
    if (every > 0)
      k = static_cast<int>(e / every);
    else
      for (const auto& m : p.value("at").items) k += m.num <= e;
    lr = base * std::pow(p.number("gamma"), k);
  } else if (kind == "cosine") {
    const double lo = p.number("min_lr");
    lr = lo + (base - lo) * 0.5 * (1 + std::cos(M_PI * std::min(t, epochs) / epochs));
  }
  const double w = p.number("warmup");
  if (w > 0 && t < w) return lr * (t + 1e-3) / w;  // linear warm-up from (almost) zero
  return lr;
}

}  // namespace whittle::runtime::torchrt
