// The sensitivity scan and guided pruning (sensitivity.h).
#include "runtime/torch/compression/sensitivity.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "runtime/plan/stage.h"

namespace whittle::runtime::torchrt {

std::string Sensitivity::json() const {
  nlohmann::json j = {
      {"amounts", amounts}, {"criterion", criterion}, {"structured", structured}, {"max_drop", max_drop},
      {"split", split},     {"images", images},       {"baseline", baseline},     {"layers", nlohmann::json::array()}};
  for (const auto& l : layers)
    j["layers"].push_back({{"layer", l.layer}, {"units", l.units}, {"accuracy", l.accuracy}, {"pick", l.pick}});
  return j.dump(1);
}

Sensitivity Sensitivity::from_json(const std::string& text) {
  const auto j = nlohmann::json::parse(text);
  Sensitivity s;
  j.at("amounts").get_to(s.amounts);
  j.at("criterion").get_to(s.criterion);
  j.at("structured").get_to(s.structured);
  j.at("max_drop").get_to(s.max_drop);
  j.at("split").get_to(s.split);
  j.at("images").get_to(s.images);
  j.at("baseline").get_to(s.baseline);
  for (const auto& l : j.at("layers"))
    s.layers.push_back({l.at("layer").get<std::string>(), l.at("units").get<std::int64_t>(),
                        l.at("accuracy").get<std::vector<double>>(), l.at("pick").get<double>()});
  return s;
}

std::string Sensitivity::csv() const {
  std::string out = "layer,units,amount,accuracy,drop,pick\n";
  for (const auto& l : layers)
    for (std::size_t i = 0; i < amounts.size(); ++i)
      out += fmt::format("{},{},{},{:.6f},{:.6f},{}\n", l.layer, l.units, amounts[i], l.accuracy[i],
                         baseline - l.accuracy[i], l.pick);
  return out;
}

double Sensitivity::picked_sparsity() const {
  double removed = 0, total = 0;
  for (const auto& l : layers) removed += l.pick * static_cast<double>(l.units), total += static_cast<double>(l.units);
  return total > 0 ? removed / total : 0;
}

std::string Sensitivity::table() const {
  std::size_t width = 5;
  for (const auto& l : layers) width = std::max(width, l.layer.size());
  std::string out = fmt::format(
      "accuracy on {} images of the {} split with one layer's {} pruned ({}), unpruned {:.2f}%;\n"
      "pick: the largest amount up to which no trial lost more than {:.4g} percentage points\n",
      images, split, structured ? "filters" : "weights", criterion, 100 * baseline, 100 * max_drop);
  out += fmt::format("{:<{}} {:>10}", "layer", width, structured ? "filters" : "weights");
  for (double a : amounts) out += fmt::format(" {:>6}", fmt::format("{:.4g}%", 100 * a));
  out += "   pick\n";
  for (const auto& l : layers) {
    out += fmt::format("{:<{}} {:>10}", l.layer, width, l.units);
    for (double acc : l.accuracy) out += fmt::format(" {:>6.2f}", 100 * acc);
    out += fmt::format(" {:>6}\n", fmt::format("{:.4g}%", 100 * l.pick));
  }
  out += fmt::format("together the picks remove {:.1f}% of the scanned {}\n", 100 * picked_sparsity(),
                     structured ? "filters" : "weights");
  return out;
}

namespace {

/// Every parameter, buffer and mask of a net, to put back after a trial.
struct Saved {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> tensors;  // (live, copy)
  std::map<std::string, torch::Tensor> masks;
  explicit Saved(Net& net) : masks(net.masks) {
    for (auto& p : net.module->parameters()) tensors.emplace_back(p, p.detach().clone());
    for (auto& b : net.module->buffers()) tensors.emplace_back(b, b.clone());
    for (auto& [name, m] : masks) m = m.clone();
  }
  void restore(Net& net) const {
    torch::NoGradGuard no_grad;
    for (const auto& [live, copy] : tensors) live.copy_(copy);
    net.masks.clear();
    for (const auto& [name, m] : masks) net.masks.emplace(name, m.clone());
    net.masks_changed();
  }
};

}  // namespace

Sensitivity scan_sensitivity(Net& net, Sensitivity s, const std::function<double(Net&)>& accuracy, at::Generator& gen,
                             const std::function<void(std::size_t, std::size_t, const std::string&)>& on_layer) {
  std::sort(s.amounts.begin(), s.amounts.end());
  s.amounts.erase(std::unique(s.amounts.begin(), s.amounts.end()), s.amounts.end());
  const auto targets = prune_targets(net, s.structured, false, false);
  if (targets.empty())
    throw StageError(s.structured ? "this architecture has no filters that structured pruning can remove"
                                  : "this model has no layers to prune",
                     s.structured ? "scan single weights: leave `structure` out" : "");
  s.baseline = accuracy(net);
  const Saved saved(net);
  s.layers.clear();
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const auto& [name, units] = targets[i];
    on_layer(i, targets.size(), name);
    LayerSensitivity l{name, units, {}, 0};
    bool within = true;
    for (double a : s.amounts) {
      PruneSpec p;
      p.criterion = s.criterion;
      p.structured = s.structured;
      p.spare_first = p.spare_last = false;
      p.per_layer = {{name, a}};
      prune(net, p, gen);
      l.accuracy.push_back(accuracy(net));
      saved.restore(net);
      within = within && s.baseline - l.accuracy.back() <= s.max_drop + 1e-12;
      if (within) l.pick = a;
    }
    s.layers.push_back(std::move(l));
  }
  return s;
}

std::map<std::string, double> guided_amounts(const Net& net, const Sensitivity& scan, const PruneSpec& spec) {
  if (scan.structured != spec.structured)
    throw StageError(fmt::format("the scan measured {} and this prune removes {}",
                                 scan.structured ? "whole filters" : "single weights",
                                 spec.structured ? "whole filters" : "single weights"),
                     fmt::format("give the `sensitivity` stage {}",
                                 spec.structured ? "`structure: structured`" : "no `structure` (single weights)"));
  std::map<std::string, double> pick;
  for (const auto& l : scan.layers) pick[l.layer] = l.pick;
  const double cap = scan.amounts.empty() ? 0 : scan.amounts.back();
  const auto targets = prune_targets(net, spec.structured, spec.spare_first, spec.spare_last);
  double total = 0, reachable = 0, smallest = 1;
  for (const auto& [name, units] : targets) {
    auto it = pick.find(name);
    if (it == pick.end())
      throw StageError(
          fmt::format("the sensitivity scan has no figures for `{}`: it scanned a model with other layers", name),
          "scan the model this prune starts from (put `sensitivity` after the last physical prune)");
    total += static_cast<double>(units);
    if (it->second > 0) reachable += cap * static_cast<double>(units), smallest = std::min(smallest, it->second);
  }
  const double want = spec.amount * total;
  if (want > reachable + 1e-9)
    throw StageError(
        fmt::format(
            "the scan lets these layers lose at most {:.1f}% of their {} (each up to the largest amount scanned, "
            "{:.4g}%, and only those that stayed within max_drop somewhere), and this prune asks for {:.4g}%",
            total > 0 ? 100 * reachable / total : 0.0, spec.structured ? "filters" : "weights", 100 * cap,
            100 * spec.amount),
        "lower the amount, scan larger amounts, or raise the scan's `max_drop`");
  // One factor for every layer: removed(c) = Σ min(cap, c·pick)·units grows with c; bisect for `want`.
  auto removed = [&](double c) {
    double r = 0;
    for (const auto& [name, units] : targets) r += std::min(cap, c * pick.at(name)) * static_cast<double>(units);
    return r;
  };
  double lo = 0, hi = cap / smallest;
  for (int i = 0; i < 100; ++i) {
    const double mid = (lo + hi) / 2;
    (removed(mid) < want ? lo : hi) = mid;
  }
  std::map<std::string, double> out;
  for (const auto& [name, units] : targets) out[name] = std::min(cap, hi * pick.at(name));
  return out;
}

}  // namespace whittle::runtime::torchrt
