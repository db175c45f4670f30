// Pruning during training (sparsify.h).
#include "runtime/torch/compression/sparsify.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <cmath>

#include "runtime/plan/params.h"
#include "runtime/torch/compression/prune.h"
#include "runtime/torch/models/layers.h"
namespace whittle::runtime::torchrt {

Sparsify::Sparsify(const lang::StageInstance& s, int epochs) {
  const Params stage(s);
  if (!stage.declares("sparsify") || stage.value("sparsify").kind != lang::Val::Kind::Call) return;
  const Params p(stage.value("sparsify"));
  kind_ = stage.value("sparsify").str;
  auto f = [&](const char* name) { return p.number(name); };
  if (kind_ == "gradual") {
    to_ = f("to") / 100.0, start_ = static_cast<int>(f("start")), end_ = static_cast<int>(f("end")),
    every_ = static_cast<int>(f("every"));
    global_ = p.word("scope") == "global";
    if (end_ > epochs || start_ >= end_)
      throw StageError(
          fmt::format("gradual pruning from epoch {} to {} does not fit in {} epochs", start_, end_, epochs),
          "`start` must come before `end`, and `end` be at most the train's epochs");
  } else if (kind_ == "soft_filter") {
    rate_ = f("rate") / 100.0;
    l2_ = p.word("norm") == "l2";
  } else if (kind_ == "slimming") {
    lambda_ = f("lambda");
  }
}

void Sparsify::final_step(Net& net) const {
  Progress quiet;
  after_epoch(net, kind_ == "gradual" ? end_ : 1, quiet);
}

void Sparsify::after_backward(Net& net) const {
  if (kind_ != "slimming") return;
  torch::NoGradGuard no_grad;
  for (const auto& m : net.module->modules(false))
    if (auto* bn = dynamic_cast<BNImpl*>(m.get()); bn && bn->weight.grad().defined())
      bn->weight.mutable_grad().add_(bn->weight.sign(), lambda_);
}

void Sparsify::after_epoch(Net& net, int done, Progress& progress) const {
  if (kind_ == "gradual" && done > start_ && done <= end_ && ((done - start_) % every_ == 0 || done == end_)) {
    const double t = static_cast<double>(done - start_) / (end_ - start_);
    const double target = to_ * (1 - std::pow(1 - t, 3));
    std::int64_t total = 0, alive = 0;
    auto layers = net.layers();
    for (std::size_t i = 1; i + 1 < layers.size(); ++i) {  // first and last spared, as `prune` does by default
      total += layers[i].weight.numel();
      alive += layers[i].weight.ne(0).sum().item<std::int64_t>();
    }
    const double current = total ? 1 - static_cast<double>(alive) / static_cast<double>(total) : 0;
    if (target <= current) return;
    PruneSpec p;
    p.amount = 1 - (1 - target) / (1 - current);
    p.global = global_;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<std::uint64_t>(done));
    prune(net, p, gen);
    progress.message(fmt::format("gradual pruning after epoch {}: sparsity {:.1f}%", done, 100 * target));
  } else if (kind_ == "soft_filter") {
    // Zero the lowest-norm filters of every conv but the first; they keep training and may regrow.
    torch::NoGradGuard no_grad;
    auto layers = net.layers();
    for (std::size_t i = 1; i < layers.size(); ++i) {
      if (layers[i].layer->kind() != LayerKind::Conv) continue;
      torch::Tensor w = layers[i].weight;
      const auto flat = w.flatten(1);
      const auto norms = l2_ ? flat.pow(2).sum(1) : flat.abs().sum(1);
      const auto k = static_cast<std::int64_t>(std::llround(rate_ * static_cast<double>(w.size(0))));
      if (k <= 0) continue;
      const auto drop = std::get<1>(torch::topk(norms, k, 0, /*largest=*/false));
      w.index_fill_(0, drop, 0);
    }
  }
}

}  // namespace whittle::runtime::torchrt
