// Weight averaging while training (average.h).
#include "runtime/torch/training/average.h"

#include <fmt/format.h>

#include <cmath>

#include "runtime/plan/params.h"
#include "runtime/system/safetensors.h"
#include "runtime/torch/models/tensor_file.h"

namespace whittle::runtime::torchrt {

WeightAverage::WeightAverage(const lang::Val& average, std::int64_t total_steps)
    : total_(std::max<std::int64_t>(1, total_steps)) {
  if (average.kind != lang::Val::Kind::Call) return;
  kind_ = average.str == "lookahead" ? Kind::Lookahead : Kind::Ema;
  const Params p(average);
  every_ = p.count("every");
  decay_ = p.number("decay");
}

std::vector<std::pair<std::string, torch::Tensor>> WeightAverage::state(const Net& net) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : net.module->named_parameters())
    if (p.value().is_floating_point()) out.emplace_back("p." + p.key(), p.value());
  for (const auto& b : net.module->named_buffers())
    if (b.value().is_floating_point()) out.emplace_back("b." + b.key(), b.value());
  return out;
}

void WeightAverage::start(const Net& net) {
  if (!active()) return;
  torch::NoGradGuard no_grad;
  names_.clear();
  slow_.clear();
  for (const auto& [name, t] : state(net)) {
    names_.push_back(name);
    slow_.push_back(t.detach().clone());
  }
}

double WeightAverage::pull(std::int64_t step) const {
  if (!active() || step % every_ != 0) return 0;
  const double d = std::pow(decay_, static_cast<double>(every_));
  if (kind_ == Kind::Ema) return 1 - d;
  const double t = static_cast<double>(step) / static_cast<double>(total_);
  return 1 - d * t * t * t;
}

void WeightAverage::after_step(Net& net, std::int64_t step) {
  const double w = pull(step);
  if (w == 0) return;
  torch::NoGradGuard no_grad;
  const auto fast = state(net);
  for (std::size_t i = 0; i < fast.size(); ++i) {
    slow_[i].lerp_(fast[i].second, w);
    if (kind_ == Kind::Lookahead) fast[i].second.copy_(slow_[i]);
  }
  if (kind_ == Kind::Lookahead) net.apply_masks();
}

void WeightAverage::finish(Net& net) {
  if (!active()) return;
  torch::NoGradGuard no_grad;
  const auto fast = state(net);
  for (std::size_t i = 0; i < fast.size(); ++i) fast[i].second.copy_(slow_[i]);
  net.apply_masks();
}

std::string WeightAverage::bytes() const {
  safetensors::Writer w;
  w.meta("format", "whittle-average 1");
  for (std::size_t i = 0; i < slow_.size(); ++i) add_tensor(w, names_[i], slow_[i]);
  return w.bytes();
}

void WeightAverage::load(const std::string& path) {
  const safetensors::File f = safetensors::read_file(path);
  for (std::size_t i = 0; i < slow_.size(); ++i) {
    const torch::Tensor t = read_tensor(f, names_[i]);
    if (!t.defined() || t.sizes() != slow_[i].sizes())
      throw std::runtime_error(
          fmt::format("{}: no `{}` of the model's shape in the averaged weights", path, names_[i]));
    torch::NoGradGuard no_grad;
    slow_[i].copy_(t.to(slow_[i].device(), slow_[i].dtype()));
  }
}

}  // namespace whittle::runtime::torchrt
