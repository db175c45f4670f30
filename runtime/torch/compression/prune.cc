// Unstructured and structured pruning (prune.h).
#include "runtime/torch/compression/prune.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "runtime/plan/params.h"
#include "runtime/plan/stage.h"
#include "runtime/torch/models/layers.h"

namespace whittle::runtime::torchrt {
namespace {
using T = torch::Tensor;

T& mask_of(Net& net, const std::string& param, const T& like) {
  auto it = net.masks.find(param);
  if (it == net.masks.end()) it = net.masks.emplace(param, torch::ones_like(like)).first;
  return it->second;
}

/// The indices of the `k` lowest entries of `scores` (already-removed entries score +inf).
T lowest(const T& scores, std::int64_t k) {
  return std::get<1>(torch::topk(scores, k, 0, /*largest=*/false, /*sorted=*/false));
}

void prune_weights(Net& net, const PruneSpec& spec, at::Generator& gen) {
  const auto layers = net.layers();
  std::vector<std::string> names;
  std::vector<std::int64_t> alive_by_layer;
  for (const auto& l : layers) {
    names.push_back(l.name);
    auto it = net.masks.find(l.name + ".weight");
    alive_by_layer.push_back(it == net.masks.end() ? l.weight.numel() : it->second.sum().item<std::int64_t>());
  }
  // `of: all`: the weights to remove are `amount` of every non-zero parameter of the model.
  std::int64_t nonzero_all = 0;
  if (spec.of_all)
    for (const auto& p : net.module->parameters()) nonzero_all += p.ne(0).sum().item<std::int64_t>();
  const WeightPrune plan = weight_prune(spec, names, alive_by_layer, nonzero_all);
  std::vector<T> scores;
  std::vector<T*> masks;
  for (std::size_t i : plan.targets) {
    const LayerRef& l = layers[i];
    T& mask = mask_of(net, l.name + ".weight", l.weight);
    masks.push_back(&mask);
    const T score = spec.criterion == "random" ? torch::rand(l.weight.sizes(), gen)
                                               : Net::effective_weight(l).abs().to(torch::kCPU);
    scores.push_back(score.masked_fill(mask.to(torch::kCPU).eq(0), std::numeric_limits<float>::infinity()).flatten());
  }
  // Removes the `k` lowest-scoring weights among the survivors of these targets.
  auto prune_group = [&](const std::vector<std::size_t>& which, std::int64_t k) {
    std::vector<T> parts;
    std::int64_t alive = 0;
    for (std::size_t i : which) parts.push_back(scores[i]), alive += alive_by_layer[plan.targets[i]];
    if (k > alive)
      throw StageError(
          fmt::format(
              "`of: all` asks for {} of the model's {} non-zero parameters to go, and its prunable layers have only {} "
              "weights left",
              k, nonzero_all, alive),
          "prune less, or leave `of: all` out to count the prunable weights");
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
  if (plan.global) {
    std::vector<std::size_t> all(plan.targets.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    prune_group(all, plan.k.front());
  } else {
    for (std::size_t i = 0; i < plan.targets.size(); ++i) prune_group({i}, plan.k[i]);
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

/// ThiNet (Luo et al. 2017): per sampled output value of each consumer, the contribution of every
/// input channel to it ([samples, channels]); the channels whose removal changes those outputs least
/// are chosen greedily. Samples: for random images, output channels and positions of each batch.
struct ThiNetSampler : LayerObserver {
  std::map<const torch::nn::Module*, std::vector<T>> contributions;  // by consumer
  at::Generator* gen = nullptr;
  static constexpr std::int64_t per_batch = 256;
  void seen(const torch::nn::Module* layer, const T& x, const T& /*y*/) override {
    auto it = contributions.find(layer);
    if (it == contributions.end()) return;
    const auto n = x.size(0);
    const T img = torch::randint(n, {per_batch}, *gen, torch::kLong);
    if (const auto* conv = dynamic_cast<const ConvImpl*>(layer)) {
      const auto& o = conv->options;
      const T w = conv->quant ? conv->quant->weight(conv->weight) : conv->weight;  // [out, C, kh, kw]
      const auto c = w.size(1), kk = w.size(2) * w.size(3);
      const T cols = torch::nn::functional::unfold(x, torch::nn::functional::UnfoldFuncOptions({w.size(2), w.size(3)})
                                                          .dilation(*o.dilation())
                                                          .stride(*o.stride())
                                                          .padding(conv_padding(*conv)));  // [n, C·kk, L]
      const T pos = torch::randint(cols.size(2), {per_batch}, *gen, torch::kLong);
      const T out = torch::randint(w.size(0), {per_batch}, *gen, torch::kLong);
      const T patches = cols.index({img, torch::indexing::Slice(), pos}).view({per_batch, c, kk});
      it->second.push_back((patches * w.index_select(0, out).view({per_batch, c, kk})).sum(2).to(torch::kDouble));
    } else if (const auto* lin = dynamic_cast<const LinearImpl*>(layer)) {
      const T w = lin->quant ? lin->quant->weight(lin->weight) : lin->weight;  // [out, C·spatial]
      const T out = torch::randint(w.size(0), {per_batch}, *gen, torch::kLong);
      it->second.push_back(
          (x.index_select(0, img) * w.index_select(0, out)).to(torch::kDouble));  // summed per channel by the caller
    }
  }
};

/// The `k` channels of each group ThiNet removes (among those alive), as `dead` flags.
void thinet_removals(Net& net, const std::vector<ChannelGroup>& groups, const std::vector<std::int64_t>& ks,
                     std::vector<T>& dead, const PruneSpec& spec, at::Generator& gen) {
  if (spec.batches.empty()) throw std::logic_error("ThiNet needs training batches");
  ThiNetSampler sampler;
  sampler.gen = &gen;
  for (std::size_t i = 0; i < groups.size(); ++i)
    for (const auto& c : groups[i].consumers) {
      auto* conv = dynamic_cast<ConvImpl*>(&module_at(net, c));
      if (conv && conv->options.groups() > 1)
        throw StageError(fmt::format("`{}` is a grouped convolution: ThiNet reconstructs the output of a dense one", c),
                         "rank these filters by `l1` instead, or use `groups: 1`");
      sampler.contributions[&module_at(net, c)];
    }
  const bool was_training = net.module->is_training();
  net.module->eval();
  {
    ObserverScope scope(&sampler);
    for (const auto& b : spec.batches) net.module->forward(b);
  }
  net.module->train(was_training);
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (ks[i] <= 0) continue;
    const auto channels = dead[i].size(0);
    std::vector<T> parts;
    for (const auto& c : groups[i].consumers) {
      const T all = torch::cat(sampler.contributions.at(&module_at(net, c)));
      // A linear consumer reads the channels flattened with `spatial` positions each.
      parts.push_back(all.size(1) == channels ? all : all.view({all.size(0), channels, -1}).sum(2));
    }
    const T x = torch::cat(parts);  // [samples, channels]
    const T sq = x.pow(2).sum(0);
    T removed_sum = torch::zeros({x.size(0)}, torch::kDouble);
    for (std::int64_t step = 0; step < ks[i]; ++step) {
      // Σ over samples of (outputs' change so far + this channel's contribution)².
      T cost = (removed_sum.unsqueeze(1) * x).sum(0) * 2 + sq;
      cost.masked_fill_(dead[i], std::numeric_limits<double>::infinity());
      const auto c = cost.argmin().item<std::int64_t>();
      dead[i][c] = true;
      removed_sum += x.select(1, c);
    }
  }
}

void prune_filters(Net& net, const PruneSpec& spec, at::Generator& gen) {
  std::vector<ChannelGroup> groups = net.module->channel_groups;
  const auto layers = net.layers();
  if (spec.spare_first && !layers.empty())
    groups.erase(std::remove_if(groups.begin(), groups.end(),
                                [&](const ChannelGroup& g) { return g.producer == layers.front().name; }),
                 groups.end());
  if (!spec.per_layer.empty())
    groups.erase(std::remove_if(groups.begin(), groups.end(),
                                [&](const ChannelGroup& g) { return !spec.per_layer.count(g.producer); }),
                 groups.end());
  if (groups.empty() && !spec.per_layer.empty()) return;
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
    } else if (spec.criterion == "thinet") {
      s = torch::zeros({w.size(0)});  // chosen by thinet_removals
    } else if (spec.criterion == "bn_gamma") {
      if (g.norms.empty())
        throw StageError(fmt::format("`{}` is followed by no BatchNorm, so `bn_gamma` cannot rank it", g.producer));
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
  if (spec.criterion == "thinet" && spec.global && spec.per_layer.empty())
    throw StageError("ThiNet chooses the filters of each layer on their own: it has no ranking across layers",
                     "leave `global` out");
  if (spec.global && spec.per_layer.empty()) {
    std::vector<std::pair<float, std::pair<std::size_t, std::int64_t>>> all;
    std::vector<std::int64_t> left(groups.size());
    for (std::size_t i = 0; i < groups.size(); ++i) {
      left[i] = alive[i].sum().item<std::int64_t>();
      for (std::int64_t c = 0; c < scores[i].size(0); ++c)
        if (alive[i][c].item<bool>()) all.push_back({scores[i][c].item<float>(), {i, c}});
    }
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    auto k = share_of(spec.amount, static_cast<std::int64_t>(all.size()));
    for (const auto& [score, at] : all) {
      if (k <= 0) break;
      if (left[at.first] <= 1) continue;
      dead[at.first][at.second] = true;
      --left[at.first];
      --k;
    }
  } else {
    std::vector<std::int64_t> ks(groups.size(), 0);
    for (std::size_t i = 0; i < groups.size(); ++i) {
      const std::int64_t n = alive[i].sum().item<std::int64_t>();
      const double amount = spec.per_layer.empty() ? spec.amount : spec.per_layer.at(groups[i].producer);
      ks[i] = std::min(n - 1, share_of(amount, n));
      if (ks[i] > 0 && spec.criterion != "thinet") dead[i].index_fill_(0, lowest(scores[i], ks[i]), true);
    }
    if (spec.criterion == "thinet") thinet_removals(net, groups, ks, dead, spec, gen);
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
      throw StageError(
          fmt::format("`{}` is a grouped convolution: removing some of its filters would unbalance its groups",
                      g.producer),
          "prune it without `physical: true` (masked), or use `groups: 1`");
    for (const auto& c : g.consumers)
      if (grouped(c))
        throw StageError(
            fmt::format("`{}` is a grouped convolution: removing some of its inputs would unbalance its groups", c),
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

WeightPrune weight_prune(const PruneSpec& spec, const std::vector<std::string>& layers,
                         const std::vector<std::int64_t>& alive, std::int64_t nonzero_all) {
  WeightPrune plan;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if ((spec.spare_first && i == 0) || (spec.spare_last && i + 1 == layers.size())) continue;
    if (!spec.per_layer.empty() && !spec.per_layer.count(layers[i])) continue;
    plan.targets.push_back(i);
  }
  std::int64_t alive_all = 0;
  for (std::size_t i : plan.targets) alive_all += alive[i];
  // `of: all`: as a share of the prunable weights alive, the same share of each layer when per layer.
  const std::int64_t k_all = spec.of_all ? share_of(spec.amount, nonzero_all) : 0;
  const double amount = spec.of_all
                            ? static_cast<double>(k_all) / static_cast<double>(std::max<std::int64_t>(1, alive_all))
                            : spec.amount;
  plan.global = spec.global && spec.per_layer.empty();
  if (plan.global) {
    plan.k.push_back(spec.of_all ? k_all : share_of(spec.amount, alive_all));
  } else {
    for (std::size_t i : plan.targets)
      plan.k.push_back(share_of(spec.per_layer.empty() ? amount : spec.per_layer.at(layers[i]), alive[i]));
  }
  return plan;
}

PruneSpec prune_spec(const lang::StageInstance& s) {
  PruneSpec p;
  const Params params(s);
  p.amount = params.fraction("amount");
  p.global = params.word("scope") == "global";
  p.criterion = params.word("criterion");
  p.structured = params.word("structure") == "structured";
  p.physical = params.flag("physical");
  p.spare_first = params.flag("spare_first");
  p.spare_last = params.flag("spare_last");
  p.of_all = params.word("of") == "all";
  return p;
}

std::vector<std::pair<std::string, std::int64_t>> prune_targets(const Net& net, bool structured, bool spare_first,
                                                                bool spare_last) {
  const auto layers = net.layers();
  auto mask = [&](const std::string& layer, const T& w) {
    auto it = net.masks.find(layer + ".weight");
    return it == net.masks.end() ? torch::ones_like(w, torch::kCPU) : it->second.to(torch::kCPU);
  };
  std::vector<std::pair<std::string, std::int64_t>> out;
  if (structured) {
    for (const auto& g : net.module->channel_groups) {
      if (spare_first && !layers.empty() && g.producer == layers.front().name) continue;
      for (const auto& l : layers)
        if (l.name == g.producer)
          out.emplace_back(g.producer, mask(l.name, l.weight).flatten(1).ne(0).any(1).sum().item<std::int64_t>());
    }
    return out;
  }
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if ((spare_first && i == 0) || (spare_last && i + 1 == layers.size())) continue;
    out.emplace_back(layers[i].name, mask(layers[i].name, layers[i].weight).ne(0).sum().item<std::int64_t>());
  }
  return out;
}

std::int64_t share_of(double amount, std::int64_t n) {
  return static_cast<std::int64_t>(std::nearbyint(amount * static_cast<double>(n)));  // FE_TONEAREST: half to even
}

void prune(Net& net, const PruneSpec& spec, at::Generator& gen) {
  torch::NoGradGuard guard;
  if (spec.structured)
    prune_filters(net, spec, gen);
  else
    prune_weights(net, spec, gen);
  net.masks_changed();
  net.apply_masks();
}

}  // namespace whittle::runtime::torchrt
