// The static preview by counts (preview_shapes.h).
#include "runtime/torch/stages/preview_shapes.h"
#include "runtime/torch/compression/model_file.h"

#include <algorithm>
#include <tuple>

#include "runtime/plan/params.h"
#include "runtime/torch/compression/prune.h"
#include "runtime/torch/models/layers.h"
#include "runtime/torch/stages/preview.h"
#include "runtime/torch/stages/stage_context.h"

namespace whittle::runtime::torchrt {

/// One model's weight magnitudes in order, sorted on first use.
class WeightTable {
 public:
  struct Layer {
    std::int64_t rows = 0, row = 0;   ///< filters (output channels), weights per filter
    std::vector<float> by_row;        ///< |w|, each filter's run ascending
    std::vector<float> sorted;        ///< |w| of the whole layer, ascending
    std::vector<std::int64_t> zeros;  ///< per filter, its weights that are exactly zero
  };

  WeightTable(Net n, int s) : net(std::move(n)), stage(s), census(torchrt::census(net)) {
    for (const auto& l : net.layers()) {
      names.push_back(l.name);
      conv.push_back(l.layer->kind() == LayerKind::Conv);
    }
    layers_.resize(names.size());
  }

  const Layer& layer(std::size_t i) {
    Layer& L = layers_[i];
    if (!L.sorted.empty() || census.layers[i].n == 0) return L;
    const torch::Tensor w = net.layers()[i].weight.detach().to(torch::kCPU, torch::kFloat).abs().contiguous();
    L.rows = std::max<std::int64_t>(w.size(0), 1);
    L.row = w.numel() / L.rows;
    L.by_row.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
    L.sorted = L.by_row;
    std::sort(L.sorted.begin(), L.sorted.end());
    for (std::int64_t r = 0; r < L.rows; ++r) {
      const auto begin = L.by_row.begin() + r * L.row, end = begin + L.row;
      std::sort(begin, end);
      L.zeros.push_back(std::upper_bound(begin, end, 0.0f) - begin);
    }
    return L;
  }

  /// Per filter, how many of its weights (the least in magnitude) a uniform quantizer of `bits`
  /// rounds to zero: computed by the quantizer's own arithmetic (quant.h uniform_weight).
  const std::vector<std::int64_t>& rounded_to_zero(std::size_t i, int bits, bool per_channel) {
    auto& out = rounded_[{i, bits, per_channel}];
    if (out.empty()) {
      const torch::Tensor w = net.layers()[i].weight.detach().to(torch::kCPU);
      const torch::Tensor zeros = uniform_weight(w, bits, per_channel).eq(0).flatten(1).sum(1).contiguous();
      out.assign(zeros.data_ptr<std::int64_t>(), zeros.data_ptr<std::int64_t>() + zeros.numel());
    }
    return out;
  }

  /// The magnitudes of these layers together, ascending.
  const std::vector<float>& merged(const std::vector<std::size_t>& targets) {
    auto& out = merged_[targets];
    if (out.empty()) {
      for (std::size_t i : targets) out.insert(out.end(), layer(i).sorted.begin(), layer(i).sorted.end());
      std::sort(out.begin(), out.end());
    }
    return out;
  }

  Net net;
  int stage;
  Census census;
  std::vector<std::string> names;
  std::vector<bool> conv;

 private:
  std::vector<Layer> layers_;
  std::map<std::tuple<std::size_t, int, bool>, std::vector<std::int64_t>> rounded_;
  std::map<std::vector<std::size_t>, std::vector<float>> merged_;
};

namespace {

/// The zeros one pruned or quantized layer ends with, or none when counts cannot say.
struct LayerZeros {
  double stored = 0, computed = 0, structured = 0;
};

/// In a filter (its magnitudes ascending) a prune removes a run from the start, and so does the
/// quantizer's rounding (its scale is the filter's largest magnitude, which a prune removes only
/// with the whole filter): the filter's zeros are the longer of the two runs, and of its exact zeros.
/// Where magnitudes equal the threshold, which of them the prune takes is not for counts to say;
/// the figures are still exact when every filter holding them counts the same either way.
std::optional<LayerZeros> zeros_of(const WeightTable::Layer& L, std::int64_t k, float t,
                                   const std::vector<std::int64_t>* rounded) {
  LayerZeros z;
  const auto rows = static_cast<std::size_t>(L.rows);
  std::vector<std::int64_t> lo(rows, 0), hi(rows, 0);
  std::int64_t below = 0, tied = 0;
  if (k > 0)
    for (std::size_t r = 0; r < rows; ++r) {
      const auto begin = L.by_row.begin() + static_cast<std::ptrdiff_t>(r) * L.row, end = begin + L.row;
      lo[r] = std::lower_bound(begin, end, t) - begin;
      hi[r] = std::upper_bound(begin, end, t) - begin;
      below += lo[r];
      tied += hi[r] - lo[r];
    }
  // Of the weights equal to t, `taken` are removed; all or none of them: every filter is known.
  const std::int64_t taken = k - below;
  const bool known = taken == 0 || taken == tied || t == 0.0f;  // removing an exact zero leaves it zero
  // Otherwise the filters holding them must count the same whichever are taken: none can end all
  // zero, and either each one's rounding covers them all (its zeros are its rounding's) or none's
  // reaches them (its zeros are what the prune took: `taken` among them all).
  bool rounding_covers = false, rounding_short = false;
  double share = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    const std::int64_t round = rounded ? (*rounded)[r] : 0;
    std::int64_t pruned = hi[r];
    if (lo[r] < hi[r] && !known) {
      if (hi[r] == L.row) return std::nullopt;
      if (round >= hi[r])
        rounding_covers = true, z.computed += static_cast<double>(round);
      else if (round <= lo[r])
        rounding_short = true, share += static_cast<double>(lo[r]);
      else
        return std::nullopt;
      z.stored += static_cast<double>(lo[r]);  // and `taken` of the tied, added below
      continue;
    }
    if (lo[r] < hi[r] && taken == 0) pruned = lo[r];
    const std::int64_t stored = std::max(pruned, L.zeros[r]);
    const std::int64_t computed = std::max(stored, round);
    z.stored += static_cast<double>(stored);
    z.computed += static_cast<double>(computed);
    if (computed == L.row) z.structured += static_cast<double>(L.row);
  }
  if (rounding_covers && rounding_short) return std::nullopt;
  if (!known) {
    z.stored += static_cast<double>(taken);
    if (rounding_short) z.computed += share + static_cast<double>(taken);
  }
  return z;
}

/// The census of what `m` stands for: its table's, with every pruned or quantized layer counted
/// filter by filter; none when counts cannot say.
std::optional<Census> census_of(const ShapeModel& m) {
  WeightTable& table = *m.table;
  Census c = table.census;
  double raw_before = 0, raw_after = 0;
  for (std::size_t i = 0; i < c.layers.size(); ++i) {
    const bool pruned = !m.pruned.empty() && m.masked[i];
    const QuantSpec* q = m.quant.empty() || !m.quant[i] ? nullptr : &*m.quant[i];
    if (!pruned && !q) continue;
    LayerCensus& l = c.layers[i];
    const WeightTable::Layer& L = table.layer(i);
    const auto z = zeros_of(L, pruned ? m.pruned[i] : 0, pruned ? m.threshold[i] : -1.0f,
                            q ? &table.rounded_to_zero(i, q->bits, q->per_channel) : nullptr);
    if (!z) return std::nullopt;
    raw_before += l.raw_zeros;
    raw_after += z->stored;
    l.raw_zeros = z->stored;
    l.zeros = z->computed;
    l.structured = z->structured;
    if (pruned) l.masked = true, l.masked_zeros = static_cast<double>(m.pruned[i]);
    if (q) {
      l.wbits = q->bits;
      l.abits = q->abits;
      l.quantizer_params = static_cast<double>(uniform_quantizer_params(*q, L.rows));
    }
  }
  c.raw_zeros_all += raw_after - raw_before;
  return c;
}

std::optional<ShapeModel> prune_by_shapes(const lang::StageInstance& s, const ShapeModel& in) {
  const PruneSpec spec = prune_spec(s);
  if (!in.pruned.empty() || !in.quant.empty() || spec.structured ||
      (spec.criterion != "l1" && spec.criterion != "l2") || Params(s).value("guide").kind == lang::Val::Kind::Result)
    return std::nullopt;
  WeightTable& table = *in.table;
  std::vector<std::int64_t> alive;
  for (const auto& l : table.census.layers) alive.push_back(static_cast<std::int64_t>(l.n));
  const auto nonzero_all = static_cast<std::int64_t>(table.census.params - table.census.raw_zeros_all);
  const WeightPrune plan = weight_prune(spec, table.names, alive, nonzero_all);
  ShapeModel out = in;
  out.pruned.assign(alive.size(), 0);
  out.masked.assign(alive.size(), false);
  out.threshold.assign(alive.size(), -1.0f);
  // The largest magnitude among the `k` least of `sorted`.
  auto threshold = [](const std::vector<float>& sorted, std::int64_t k) -> std::optional<float> {
    if (k <= 0) return -1.0f;
    if (k > static_cast<std::int64_t>(sorted.size())) return std::nullopt;  // more than there are: the prune says so
    return sorted[static_cast<std::size_t>(k - 1)];
  };
  if (plan.global) {
    const std::int64_t k = plan.k.front();
    const auto t = threshold(table.merged(plan.targets), k);
    if (!t) return std::nullopt;
    // Each layer's share: its magnitudes below the threshold, and those equal to it when that is
    // all of them or none (else which layer loses them is not for counts to say).
    std::int64_t below = 0, tied = 0;
    std::vector<std::pair<std::int64_t, std::int64_t>> range;
    for (std::size_t i : plan.targets) {
      const auto& sorted = table.layer(i).sorted;
      const std::int64_t lo = k > 0 ? std::lower_bound(sorted.begin(), sorted.end(), *t) - sorted.begin() : 0;
      const std::int64_t hi = k > 0 ? std::upper_bound(sorted.begin(), sorted.end(), *t) - sorted.begin() : 0;
      range.emplace_back(lo, hi);
      below += lo;
      tied += hi - lo;
    }
    const std::int64_t taken = k - below;
    int layers_tied = 0;
    for (const auto& [lo, hi] : range) layers_tied += lo < hi;
    if (taken != 0 && taken != tied && layers_tied > 1) return std::nullopt;
    for (std::size_t j = 0; j < plan.targets.size(); ++j) {
      const auto [lo, hi] = range[j];
      const std::size_t i = plan.targets[j];
      out.pruned[i] = taken == 0 ? lo : taken == tied ? hi : lo < hi ? lo + taken : lo;
      out.threshold[i] = *t;
    }
  } else {
    for (std::size_t j = 0; j < plan.targets.size(); ++j) {
      const std::size_t i = plan.targets[j];
      const auto t = threshold(table.layer(i).sorted, plan.k[j]);
      if (!t) return std::nullopt;
      out.pruned[i] = std::max<std::int64_t>(plan.k[j], 0);
      out.threshold[i] = *t;
    }
  }
  for (std::size_t i : plan.targets) out.masked[i] = true;
  return out;
}

std::optional<ShapeModel> quantize_by_shapes(const lang::StageInstance& s, const ShapeModel& in) {
  if (!in.quant.empty()) return std::nullopt;
  const auto chosen = quantized_layers(in.table->conv, s);
  ShapeModel out = in;
  out.quant.assign(in.table->conv.size(), std::nullopt);
  for (const auto& [i, spec] : chosen) {
    if (spec.method != "uniform") return std::nullopt;
    out.quant[i] = spec;
  }
  return out;
}

}  // namespace

bool can_hold_by_shapes(const Net& net) {
  if (!net.masks.empty() || net.half || !net.int8.empty()) return false;
  for (const auto& l : net.layers())
    if (l.layer->quant || l.weight.scalar_type() != torch::kFloat || l.weight.dim() < 2) return false;
  return true;
}

ShapeModel hold_by_shapes(Net net, int stage) {
  ShapeModel m;
  m.table = std::make_shared<WeightTable>(std::move(net), stage);
  m.census = m.table->census;
  return m;
}

std::optional<ShapeModel> apply_by_shapes(const lang::StageInstance& s, const ShapeModel& in) {
  std::optional<ShapeModel> out;
  if (s.kind == "prune")
    out = prune_by_shapes(s, in);
  else if (s.kind == "quantize")
    out = quantize_by_shapes(s, in);
  else if (s.kind == "retrain")
    out = in;  // the preview trains nothing
  if (!out) return std::nullopt;
  out->stages.push_back(s.id);
  if (s.kind != "retrain") {
    auto c = census_of(*out);
    if (!c) return std::nullopt;
    out->census = std::move(*c);
  }
  return out;
}

Net make_real(const Plan& plan, const ShapeModel& m) {
  Net net = copy_net(plan, m.table->stage, m.table->net);
  for (int id : m.stages) {
    const lang::StageInstance& s = plan.stage(id);
    StagePreview scratch;
    if (const StageKind* kind = stage_kind(s.kind); kind && kind->preview) kind->preview(s, net, scratch);
  }
  return net;
}

}  // namespace whittle::runtime::torchrt
