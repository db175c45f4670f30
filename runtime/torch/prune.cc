// Unstructured and structured pruning (prune.h).
#include "runtime/torch/prune.h"

#include <fmt/format.h>

#include <limits>

#include "runtime/executor.h"
#include "runtime/torch/layers.h"

namespace whittle::runtime::torchrt {
namespace {
using T = torch::Tensor;

T& mask_of(Net& net, const std::string& param, const T& like) {
  auto it = net.masks.find(param);
  if (it == net.masks.end()) it = net.masks.emplace(param, torch::ones_like(like)).first;
  return it->second;
}

/// The indices of the `k` lowest entries of `scores` (already-removed entries score +inf).
T lowest(const T& scores, std::int64_t k) { return std::get<1>(torch::topk(scores, k, 0, /*largest=*/false, /*sorted=*/false)); }

void prune_weights(Net& net, const PruneSpec& spec, at::Generator& gen) {
  auto layers = net.layers();
  if (spec.spare_first && !layers.empty()) layers.erase(layers.begin());
  if (spec.spare_last && !layers.empty()) layers.pop_back();
  std::vector<T> scores;
  std::vector<T*> masks;
  for (auto& l : layers) {
    T& mask = mask_of(net, l.name + ".weight", l.weight);
    masks.push_back(&mask);
    const T score = spec.criterion == "random" ? torch::rand(l.weight.sizes(), gen) : Net::effective_weight(l).abs().to(torch::kCPU);
    scores.push_back(score.masked_fill(mask.to(torch::kCPU).eq(0), std::numeric_limits<float>::infinity()).flatten());
  }
  // Remove `amount` of the weights still unpruned: the k lowest scores among the survivors.
  auto prune_group = [&](const std::vector<std::size_t>& which) {
    std::vector<T> parts;
    std::int64_t alive = 0;
    for (std::size_t i : which) {
      parts.push_back(scores[i]);
      alive += masks[i]->sum().item<std::int64_t>();
    }
    const auto k = static_cast<std::int64_t>(std::llround(spec.amount * static_cast<double>(alive)));
    if (k <= 0) return;
    const T all = torch::cat(parts);
    T flat = torch::ones_like(all);
    flat.index_fill_(0, lowest(all, k), 0);
    std::int64_t off = 0;
    for (std::size_t i : which) {
      T& mask = *masks[i];
      const auto len = mask.numel();
      mask.mul_(flat.slice(0, off, off + len).view(mask.sizes()).to(mask.device()));
      off += len;
    }
  };
  if (spec.global) {
    std::vector<std::size_t> all(layers.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    prune_group(all);
  } else {
    for (std::size_t i = 0; i < layers.size(); ++i) prune_group({i});
  }
}

torch::nn::Module& module_at(Net& net, const std::string& name) {
  for (const auto& m : net.module->named_modules("", false))
    if (m.key() == name) return *m.value();
  throw std::logic_error("no module " + name);
}

/// Keeps the entries `keep` along `dim` of a tensor (a parameter, buffer or mask), in place.
void slice(T& t, std::int64_t dim, const T& keep) { t.set_data(t.index_select(dim, keep.to(t.device())).contiguous()); }

/// Slices every tensor of a module that lies along its channels: parameters (and their masks),
/// buffers, and the quantizer's buffers shaped like the weight (a k-means index).
void slice_module(Net& net, const std::string& name, std::int64_t dim, const T& keep, bool weight_only = false) {
  torch::nn::Module& m = module_at(net, name);
  const std::vector<std::int64_t> weight_shape = m.named_parameters(false)["weight"].sizes().vec();
  for (auto& p : m.named_parameters(/*recurse=*/false)) {
    if (weight_only && p.key() != "weight") continue;
    auto it = net.masks.find(name + "." + p.key());
    if (it != net.masks.end()) slice(it->second, dim, keep);
    slice(p.value(), dim, keep);
  }
  if (!weight_only)
    for (auto& b : m.named_buffers(false))
      if (b.value().dim() > 0) slice(b.value(), dim, keep);
  for (auto& c : m.named_children())  // the quantizer
    for (auto& b : c.value()->named_buffers())
      if (b.value().sizes().vec() == weight_shape) slice(b.value(), dim, keep);
}

void prune_filters(Net& net, const PruneSpec& spec, at::Generator& gen) {
  std::vector<ChannelGroup> groups = net.module->channel_groups;
  const auto layers = net.layers();
  if (spec.spare_first && !layers.empty())
    groups.erase(std::remove_if(groups.begin(), groups.end(), [&](const ChannelGroup& g) { return g.producer == layers.front().name; }),
                 groups.end());
  if (groups.empty())
    throw StageError("this architecture has no filters that structured pruning can remove",
                     "its channels are all tied by residual additions or concatenations; use unstructured pruning");
  auto weight_of = [&](const std::string& name) { return module_at(net, name).named_parameters(false)["weight"]; };
  // Scores per group; removed filters score +inf. L1/L2 are per-element means, so that filters of
  // different sizes can be ranked together with `global`.
  std::vector<T> scores, alive;
  for (const auto& g : groups) {
    const T w = weight_of(g.producer);
    const T mask = mask_of(net, g.producer + ".weight", w).to(torch::kCPU).flatten(1);
    const T live = mask.ne(0).any(1);
    T s;
    if (spec.criterion == "random") {
      s = torch::rand({w.size(0)}, gen);
    } else if (spec.criterion == "bn_gamma") {
      if (g.norms.empty()) throw StageError(fmt::format("`{}` is followed by no BatchNorm, so `bn_gamma` cannot rank it", g.producer));
      s = weight_of(g.norms.front()).detach().abs().to(torch::kCPU);
    } else {
      LayerRef ref{g.producer, &module_at(net, g.producer), dynamic_cast<WeightLayer*>(&module_at(net, g.producer)), w};
      const T e = Net::effective_weight(ref).to(torch::kCPU).flatten(1);
      s = spec.criterion == "l2" ? e.pow(2).mean(1).sqrt() : e.abs().mean(1);
    }
    scores.push_back(s.masked_fill(live.logical_not(), std::numeric_limits<float>::infinity()));
    alive.push_back(live);
  }
  // Which filters go: `amount` of those alive, per layer or all ranked together; every layer keeps one.
  std::vector<T> dead(groups.size());
  for (std::size_t i = 0; i < groups.size(); ++i) dead[i] = alive[i].logical_not();
  if (spec.global) {
    std::vector<std::pair<float, std::pair<std::size_t, std::int64_t>>> all;
    std::vector<std::int64_t> left(groups.size());
    for (std::size_t i = 0; i < groups.size(); ++i) {
      left[i] = alive[i].sum().item<std::int64_t>();
      for (std::int64_t c = 0; c < scores[i].size(0); ++c)
        if (alive[i][c].item<bool>()) all.push_back({scores[i][c].item<float>(), {i, c}});
    }
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    auto k = static_cast<std::int64_t>(std::llround(spec.amount * static_cast<double>(all.size())));
    for (const auto& [score, at] : all) {
      if (k <= 0) break;
      if (left[at.first] <= 1) continue;
      dead[at.first][at.second] = true;
      --left[at.first];
      --k;
    }
  } else {
    for (std::size_t i = 0; i < groups.size(); ++i) {
      const std::int64_t n = alive[i].sum().item<std::int64_t>();
      const auto k = std::min(n - 1, static_cast<std::int64_t>(std::llround(spec.amount * static_cast<double>(n))));
      if (k > 0) dead[i].index_fill_(0, lowest(scores[i], k), true);
    }
  }
  if (!spec.physical) {
    // Masks: the filters, their biases, the BN scales and shifts and the depthwise filters that
    // carry them: the channel is exactly zero downstream, as if it were removed.
    for (std::size_t i = 0; i < groups.size(); ++i) {
      const T keep = dead[i].logical_not();
      auto mask_rows = [&](const std::string& module) {
        for (auto& p : module_at(net, module).named_parameters(false)) {
          T& m = mask_of(net, module + "." + p.key(), p.value());
          std::vector<std::int64_t> shape(static_cast<std::size_t>(m.dim()), 1);
          shape[0] = m.size(0);
          m.mul_(keep.to(m.device(), m.scalar_type()).view(shape));
        }
      };
      mask_rows(groups[i].producer);
      for (const auto& n : groups[i].norms) mask_rows(n);
      for (const auto& t : groups[i].through) mask_rows(t);
    }
    return;
  }
  // Physical: slice the channels out of every tensor that holds them.
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const ChannelGroup& g = groups[i];
    const T keep = dead[i].logical_not().nonzero().flatten();
    if (keep.size(0) == dead[i].size(0)) continue;
    auto grouped = [&](const std::string& name) {
      const auto* c = dynamic_cast<const ConvImpl*>(&module_at(net, name));
      return c && c->options.groups() > 1;
    };
    if (grouped(g.producer))
      throw StageError(fmt::format("`{}` is a grouped convolution: removing some of its filters would unbalance its groups", g.producer),
                       "prune it without `physical: true` (masked), or use `groups: 1`");
    for (const auto& c : g.consumers)
      if (grouped(c))
        throw StageError(fmt::format("`{}` is a grouped convolution: removing some of its inputs would unbalance its groups", c),
                         "prune without `physical: true` (masked), or use `groups: 1`");
    slice_module(net, g.producer, 0, keep);
    for (const auto& n : g.norms) slice_module(net, n, 0, keep);
    for (const auto& t : g.through) slice_module(net, t, 0, keep);
    T in_keep = keep;
    if (g.spatial > 1) in_keep = (keep.unsqueeze(1) * g.spatial + torch::arange(g.spatial).unsqueeze(0)).flatten();
    for (const auto& c : g.consumers) slice_module(net, c, 1, in_keep, /*weight_only=*/true);
  }
  sync_options(*net.module);
  profile(*net.module, {net.module->in_channels, net.module->in_height, net.module->in_width, 0});
}

}  // namespace

void prune(Net& net, const PruneSpec& spec, at::Generator& gen) {
  torch::NoGradGuard guard;
  if (spec.structured) prune_filters(net, spec, gen);
  else prune_weights(net, spec, gen);
  net.masks_changed();
  net.apply_masks();
}

}  // namespace whittle::runtime::torchrt
