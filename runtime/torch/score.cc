// The course score and model size (score.h).
#include "runtime/torch/score.h"

#include <fmt/format.h>

#include <set>

#include "runtime/executor.h"
#include "runtime/metrics.h"
#include "runtime/torch/layers.h"
#include "runtime/torch/quant.h"

namespace whittle::runtime::torchrt {

int weight_bits(const Net& net, const LayerRef& l) {
  if (l.layer->quant) {
    const QuantSpec& s = spec_of(*l.layer->quant);
    return s.method == "float" ? 16 : s.bits;
  }
  return net.half ? 16 : 32;
}

int activation_bits(const Net& net, const LayerRef& l) {
  if (l.layer->quant) {
    const QuantSpec& s = spec_of(*l.layer->quant);
    return s.method == "float" ? 16 : s.abits;
  }
  return net.half ? 16 : 32;
}

namespace {

/// One parameter tensor as the scores see it.
struct Counted {
  double n = 0, zeros = 0, structured = 0;  ///< elements, zeros, zeros in whole zero filters
  int bits = 32;
  bool weight = false;  ///< a conv or linear weight
};

/// One conv or linear layer.
struct LayerCost {
  const CountedLayer* counted;
  const torch::nn::Module* module;
  int wbits, abits;
  double density;  ///< non-zero share of its weight
};

struct Census {
  std::vector<Counted> tensors;
  std::vector<LayerCost> layers;
  double quantizer_params = 0;  ///< scales, codebooks, clipping levels (float32)
};

Census census(const Net& net) {
  Census c;
  const int other_bits = net.half ? 16 : 32;
  std::set<std::string> layer_weights;
  for (const auto& l : net.layers()) {
    const torch::Tensor w = Net::effective_weight(l).to(torch::kCPU);
    Counted t;
    t.n = static_cast<double>(w.numel());
    const torch::Tensor zero_per_row = w.eq(0).flatten(1).sum(1);
    t.zeros = static_cast<double>(zero_per_row.sum().item<std::int64_t>());
    const auto row = w.numel() / std::max<std::int64_t>(w.size(0), 1);
    t.structured = static_cast<double>(zero_per_row.eq(row).sum().item<std::int64_t>() * row);
    t.bits = weight_bits(net, l);
    t.weight = true;
    c.tensors.push_back(t);
    c.layers.push_back({l.layer, l.module, t.bits, activation_bits(net, l), t.n > 0 ? 1 - t.zeros / t.n : 1});
    layer_weights.insert(l.name + ".weight");
    if (l.layer->quant) c.quantizer_params += static_cast<double>(quantizer_params(*l.layer->quant, l.weight));
  }
  for (const auto& p : net.module->named_parameters()) {
    const std::string& k = p.key();
    if (layer_weights.count(k) || k.find(".q.") != std::string::npos || k.rfind("q.", 0) == 0) continue;
    Counted t;
    t.n = static_cast<double>(p.value().numel());
    t.bits = other_bits;
    c.tensors.push_back(t);
  }
  return c;
}

std::string bits_text(double avg, bool mixed) { return mixed ? fmt::format("{:.3g} (mixed, averaged)", avg) : fmt::format("{:.0f}", avg); }

ScoreReport course_current(const Net& net, const Census& c, const ScoreOptions& o, double ops_ref) {
  ScoreReport r;
  double counted_bits = 0, weight_elems = 0, weight_bits_sum = 0, zeros_s = 0, zeros_u = 0;
  std::set<int> wb, ab;
  for (const auto& t : c.tensors) {
    if (!t.weight && !o.all_params) continue;
    r.w += t.n;
    counted_bits += (t.n - t.zeros) * t.bits;
    zeros_s += t.structured;
    zeros_u += t.zeros - t.structured;
    if (t.weight) weight_elems += t.n, weight_bits_sum += t.n * t.bits, wb.insert(t.bits);
  }
  r.w += c.quantizer_params;
  counted_bits += c.quantizer_params * 32;
  r.p_s = zeros_s / r.w;
  r.p_u = zeros_u / r.w;
  double op_bits = 0, act_bits = 0;
  for (const auto& l : c.layers) {
    const auto f = static_cast<double>(l.counted->macs);
    r.f += f;
    op_bits += f * std::max(l.wbits, l.abits);
    act_bits += f * l.abits;
    ab.insert(l.abits);
  }
  r.mixed = wb.size() > 1;
  r.mixed_a = ab.size() > 1;
  r.q_w = weight_elems > 0 ? weight_bits_sum / weight_elems : 32;
  r.q_a = r.f > 0 ? act_bits / r.f : 32;
  // [1 − (p_s + p_u)]·(q_w/32)·w/5.6e6, summed tensor by tensor: each counts its non-zero elements at its own bits.
  r.param_term = counted_bits / 32 / 5.6e6;
  // (1 − p_s)·(max(q_w, q_a)/32)·f/ref, max(q_w, q_a) taken layer by layer.
  r.ops_term = (1 - r.p_s) * op_bits / 32 / ops_ref;
  r.total = r.param_term + r.ops_term;
  r.settings = {
      fmt::format("score = [1 - (p_s + p_u)] * (q_w/32) * w / 5.6e6 + (1 - p_s) * (max(q_w, q_a)/32) * f / {:.2g}", ops_ref),
      o.all_params ? "w: all learnable parameters (BatchNorm and biases included), plus quantizer scales and codebooks at 32 bits"
                   : "w: conv and linear weights only, plus quantizer scales and codebooks at 32 bits",
      fmt::format("f: conv and linear multiply-accumulates for one {}x{}x{} image at batch 1 (grouped conv: k^2*C_in/groups per output)",
                  net.module->in_channels, net.module->in_height, net.module->in_width),
      "p_u: zero weights / w, counted in the weights the model computes with; p_s: weights in whole zero filters / w",
      "a physically slimmed model is counted as it is (its removed filters are not in w or f)",
      fmt::format("bits: per layer; weights outside conv/linear at {} bits; mixed precision summed layer by layer", net.half ? 16 : 32)};
  return r;
}

ScoreReport course2021(const Net& net, const Census& c, bool profiler) {
  ScoreReport r;
  // The course's 2021 profiler: leaf modules only, at the model's precision (16 bits unless quantized).
  // whittle's convention takes each tensor's own bits (BatchNorm and biases at 16, quantizer scales
  // counted at 32); the profiler's (`convention: profiler`) one precision for every parameter: the
  // conv and linear weights' own, and no scale or linear bias op, as its counters do.
  std::set<int> weight_bit_widths;
  for (const auto& t : c.tensors)
    if (t.weight) weight_bit_widths.insert(t.bits);
  if (profiler && weight_bit_widths.size() > 1)
    throw StageError("the 2021 profiler counts the whole model at one precision, and this model's layers have different bit widths",
                     "score it with `convention: whittle`, which counts each layer at its own");
  const int global_bits = weight_bit_widths.empty() ? 32 : *weight_bit_widths.begin();
  auto qf_of = [&](int bits) {
    if (profiler) bits = global_bits;
    return 32.0 / std::min(bits == 32 ? 16 : bits, 32);
  };
  double params = 0, zeros = 0, weight_elems = 0, weight_bits_sum = 0;
  std::set<int> wb;
  for (const auto& t : c.tensors) {
    params += (t.n - t.zeros) / qf_of(t.bits);
    zeros += t.zeros;
    r.w += t.n;
    if (t.weight) weight_elems += t.n, weight_bits_sum += t.n * (t.bits == 32 ? 16 : t.bits), wb.insert(t.bits);
  }
  if (!profiler) {
    params += c.quantizer_params;
    r.w += c.quantizer_params;
  }
  r.p_u = zeros / r.w;
  double ops = 0;
  for (const auto& l : c.layers) {
    const double qf = qf_of(l.wbits), out = static_cast<double>(l.counted->out_elems);
    if (const auto* conv = dynamic_cast<const ConvImpl*>(l.module)) {
      const double g = static_cast<double>(conv->options.groups());
      const double k = static_cast<double>(conv->weight.size(1) * conv->weight.size(2) * conv->weight.size(3)) * g;  // k_h·k_w·C_in
      ops += out * ((k / qf + k - 1) / g + (conv->bias.defined() ? 1 : 0));
    } else if (const auto* lin = dynamic_cast<const LinearImpl*>(l.module)) {
      const double in = static_cast<double>(lin->weight.size(1));
      ops += out * (in / qf + in - 1 + (lin->bias.defined() && !profiler ? 1 : 0));
    }
  }
  for (const auto& m : net.module->modules(false)) {
    const auto* cl = dynamic_cast<const CountedLayer*>(m.get());
    if (!cl) continue;
    if (cl->kind() == LayerKind::BatchNorm) ops += 3.0 * static_cast<double>(cl->in_elems);
    if (cl->kind() == LayerKind::ReLU || cl->kind() == LayerKind::GELU) ops += static_cast<double>(cl->in_elems);
    if (const auto* pool = dynamic_cast<const AvgPoolImpl*>(m.get())) {
      const auto& k = *pool->options.kernel_size();
      ops += static_cast<double>(cl->out_elems) * static_cast<double>(k[0] * k[1]);
    }
  }
  r.f = ops;
  r.mixed = wb.size() > 1;
  r.q_w = weight_elems > 0 ? weight_bits_sum / weight_elems : 16;
  r.q_a = r.q_w;  // the 2021 profiler has one precision per layer
  r.mixed_a = r.mixed;
  r.param_term = params / 5586981.0;
  r.ops_term = ops / 834362880.0;
  r.total = r.param_term + r.ops_term;
  if (profiler)
    r.settings = {"score = ops / 834362880 + params / 5586981 * (1 - sparsity), the course's 2021 profiler (convention: profiler)",
                  fmt::format("precision: one for the whole model, as the profiler takes it: {} bits (the conv and linear weights'; 16 where "
                              "not quantized), BatchNorm and biases included",
                              global_bits == 32 ? 16 : global_bits),
                  "ops: conv out*[(k^2*C_in/qf + k^2*C_in - 1)/groups + bias], linear out*(in/qf + in - 1) (its counter has no bias op), "
                  "BatchNorm 3 per input element, ReLU and GELU modules 1 per element, AvgPool2d modules out*k^2; functional calls count nothing",
                  "params: all leaf-module parameters / qf, zeros not counted; quantizer scales and codebooks not counted"};
  else
    r.settings = {"score = ops / 834362880 + params / 5586981 * (1 - sparsity), the course's 2021 profiler (convention: whittle)",
                  "precision: each tensor at its own bits: a layer's quantized weight bits, 16 bits (the profiler's default) where not "
                  "quantized, BatchNorm and biases at 16",
                  "ops: conv out*[(k^2*C_in/qf + k^2*C_in - 1)/groups + bias], linear out*(in/qf + in - 1 + bias), "
                  "BatchNorm 3 per input element, ReLU and GELU modules 1 per element, AvgPool2d modules out*k^2; functional calls count nothing",
                  "params: all leaf-module parameters / qf, zeros not counted; quantizer scales and codebooks at 32 bits"};
  return r;
}

ScoreReport micronet(const Net& net, const Census& c) {
  ScoreReport r;
  double storage = 0, zeros = 0, weight_elems = 0, weight_bits_sum = 0;
  std::set<int> wb;
  for (const auto& t : c.tensors) {
    storage += (t.n - t.zeros) * t.bits / 32.0;
    r.w += t.n;
    zeros += t.zeros;
    if (t.weight) weight_elems += t.n, weight_bits_sum += t.n * t.bits, wb.insert(t.bits);
  }
  storage += c.quantizer_params;
  r.w += c.quantizer_params;
  r.p_u = zeros / r.w;
  double ops = 0, act_bits = 0, all_macs = 0;
  for (const auto& l : c.layers) {
    const double macs = static_cast<double>(l.counted->macs) * l.density;
    ops += macs * std::max(l.wbits, l.abits) / 32.0 + macs;  // a multiply at its bits, an add at 32
    act_bits += static_cast<double>(l.counted->macs) * l.abits;
    all_macs += static_cast<double>(l.counted->macs);
  }
  r.f = ops;
  r.q_a = all_macs > 0 ? act_bits / all_macs : 32;
  r.mixed = wb.size() > 1;
  r.q_w = weight_elems > 0 ? weight_bits_sum / weight_elems : 32;
  r.param_term = storage / 36.5e6;
  r.ops_term = ops / 10.49e9;
  r.total = r.param_term + r.ops_term;
  r.settings = {"score = storage / 36.5e6 + ops / 10.49e9 (MicroNet 2019, CIFAR-100 track; references: WideResNet-28-10)",
                "storage: every non-zero parameter at bits/32; quantizer scales and codebooks at 32 bits",
                "ops: per conv/linear MAC of a non-zero weight, one multiply at max(q_w, q_a)/32 and one add at 32 bits"};
  return r;
}

ScoreReport score_from(const Net& net, const Census& c, const ScoreOptions& o) {
  ScoreReport r = o.version == "course2021"     ? course2021(net, c, o.profiler)
                  : o.version == "micronet2019" ? micronet(net, c)
                                                : course_current(net, c, o, o.version == "course2024" ? 8.3e8 : 2.8e8);
  r.version = o.version;
  if (o.views > 1) {  // test-time augmentation: each image goes through the model `views` times
    r.views = o.views;
    r.ops_term *= o.views;
    r.total = r.param_term + r.ops_term;
    r.settings.push_back(fmt::format("ops: {} forward passes per image (test-time augmentation), each counted", o.views));
  }
  return r;
}

ModelSize size_from(const Net& net, const Census& c) {
  constexpr double mib = 1024.0 * 1024.0;
  double stored = 0, packed = 0, sparse = 0;
  for (const auto& t : c.tensors) {
    stored += t.n * (net.half ? 2 : 4);
    packed += t.n * t.bits / 8.0;
    sparse += (t.n - t.zeros) * t.bits / 8.0 + (t.weight && t.zeros > 0 ? t.n / 8.0 : 0);
  }
  const double q = c.quantizer_params * 4;
  return {stored / mib, (packed + q) / mib, (sparse + q) / mib};
}

}  // namespace

ScoreReport score(const Net& net, const ScoreOptions& o) { return score_from(net, census(net), o); }

ModelSize model_size(const Net& net) { return size_from(net, census(net)); }

std::string ScoreReport::text() const {
  const bool ops = version == "course2021" || version == "micronet2019";
  std::string out = fmt::format("score {}: {:.5g}\n", version, total);
  out += fmt::format("  w   = {:.0f} parameters\n", w);
  out += fmt::format("  f   = {:.0f} {}\n", f, ops ? "ops" : "MACs");
  out += fmt::format("  q_w = {}\n  q_a = {}\n", bits_text(q_w, mixed), bits_text(q_a, mixed_a));
  if (!ops) out += fmt::format("  p_s = {:.4f}\n", p_s);
  out += fmt::format("  p_u = {:.4f}\n", p_u);
  out += fmt::format("  parameter term = {:.5g}\n  ops term       = {:.5g}\n  total          = {:.5g}\n", param_term, ops_term, total);
  for (const auto& s : settings) out += "  # " + s + "\n";
  return out;
}

std::map<std::string, double> size_and_cost(const Net& net, int views) {
  std::map<std::string, double> m;
  // Sparsity among the conv/linear weights that pruning touched (those with a mask: a spared
  // first or last layer is not counted); among all of them before any pruning.
  std::int64_t total = 0, nz = 0, masked = 0;
  for (const auto& l : net.layers()) {
    auto mask = net.masks.find(l.name + ".weight");
    if (mask == net.masks.end()) continue;
    total += l.weight.numel();
    nz += Net::effective_weight(l).ne(0).sum().item<std::int64_t>();
    masked += mask->second.eq(0).sum().item<std::int64_t>();
  }
  if (total == 0) nz = count_nonzero_prunable(net, total);
  std::int64_t zeros = 0;
  for (const auto& p : net.module->parameters()) zeros += p.eq(0).sum().item<std::int64_t>();
  const auto w = static_cast<double>(count_params(net));
  m["params"] = w;
  m["nonzero"] = w - static_cast<double>(zeros);
  m["sparsity"] = total ? 1.0 - static_cast<double>(nz) / static_cast<double>(total) : 0.0;
  // What the masks alone remove: pruning's share, without the zeros a quantizer's rounding adds
  // (those depend on the trained weights, so `verify` cannot expect them of a recipe).
  m["masked_sparsity"] = total ? static_cast<double>(masked) / static_cast<double>(total) : 0.0;
  m["sparsity_all"] = w > 0 ? static_cast<double>(zeros) / w : 0.0;  // what `prune P% of: all` counts
  m["macs"] = static_cast<double>(net.module->macs());
  const Census c = census(net);  // once, for the score and the size
  ScoreOptions first;
  first.views = views;
  const ScoreReport r = score_from(net, c, first);
  m["bits"] = r.q_w;
  m["activation_bits"] = r.q_a;
  // The share of the default preset's score that is its ops term: with activations left at 32 bits it
  // is nearly all of it, and quantizing the weights further moves the score little (plan says so).
  m["score_ops_share"] = r.total > 0 ? r.ops_term / r.total : 0.0;
  for (const auto& preset : score_presets()) {
    ScoreOptions o;
    o.version = preset;
    o.views = views;
    m[score_key(preset)] = preset == r.version ? r.total : score_from(net, c, o).total;
  }
  if (views > 1) m["tta_views"] = views;
  const ModelSize size = size_from(net, c);
  m["size_mib"] = size.stored_mib;
  m["packed_mib"] = size.packed_mib;
  m["sparse_mib"] = size.sparse_mib;
  return m;
}

}  // namespace whittle::runtime::torchrt
