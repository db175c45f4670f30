// The course score and model size (score.h).
#include "runtime/torch/compression/score.h"

#include <fmt/format.h>

#include <set>

#include "runtime/plan/metrics.h"
#include "runtime/plan/stage.h"
#include "runtime/torch/compression/quant.h"
#include "runtime/torch/models/layers.h"

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

/// Every parameter tensor of the census: the conv and linear weights, then the others at the
/// model's precision.
std::vector<Counted> tensors_of(const Census& c) {
  std::vector<Counted> out;
  for (const auto& l : c.layers) out.push_back({l.n, l.zeros, l.structured, l.wbits, true});
  for (double n : c.others) out.push_back({n, 0, 0, c.half ? 16 : 32, false});
  return out;
}

std::string bits_text(double avg, bool mixed) {
  return mixed ? fmt::format("{:.3g} (mixed, averaged)", avg) : fmt::format("{:.0f}", avg);
}

ScoreReport course_current(const Census& c, const ScoreOptions& o, double ops_ref) {
  ScoreReport r;
  const double quantizer_params = c.quantizer_params();
  double counted_bits = 0, weight_elems = 0, weight_bits_sum = 0, zeros_s = 0, zeros_u = 0;
  std::set<int> wb, ab;
  for (const auto& t : tensors_of(c)) {
    if (!t.weight && !o.all_params) continue;
    r.w += t.n;
    counted_bits += (t.n - t.zeros) * t.bits;
    zeros_s += t.structured;
    zeros_u += t.zeros - t.structured;
    if (t.weight) weight_elems += t.n, weight_bits_sum += t.n * t.bits, wb.insert(t.bits);
  }
  r.w += quantizer_params;
  counted_bits += quantizer_params * 32;
  r.p_s = zeros_s / r.w;
  r.p_u = zeros_u / r.w;
  double op_bits = 0, act_bits = 0;
  for (const auto& l : c.layers) {
    const double f = l.macs;
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
      fmt::format("score = [1 - (p_s + p_u)] * (q_w/32) * w / 5.6e6 + (1 - p_s) * (max(q_w, q_a)/32) * f / {:.2g}",
                  ops_ref),
      o.all_params ? "w: all learnable parameters (BatchNorm and biases included), plus quantizer scales and codebooks "
                     "at 32 bits"
                   : "w: conv and linear weights only, plus quantizer scales and codebooks at 32 bits",
      fmt::format("f: conv and linear multiply-accumulates for one {}x{}x{} image at batch 1 (grouped conv: "
                  "k^2*C_in/groups per output)",
                  c.in_channels, c.in_height, c.in_width),
      "p_u: zero weights / w, counted in the weights the model computes with; p_s: weights in whole zero filters / w",
      "a physically slimmed model is counted as it is (its removed filters are not in w or f)",
      fmt::format("bits: per layer; weights outside conv/linear at {} bits; mixed precision summed layer by layer",
                  c.half ? 16 : 32)};
  return r;
}

ScoreReport course2021(const Census& c, bool profiler) {
  const std::vector<Counted> tensors = tensors_of(c);
  ScoreReport r;
  // The course's 2021 profiler: leaf modules only, at the model's precision (16 bits unless quantized).
  // whittle's convention takes each tensor's own bits (BatchNorm and biases at 16, quantizer scales
  // counted at 32); the profiler's (`convention: profiler`) one precision for every parameter: the
  // conv and linear weights' own, and no scale or linear bias op, as its counters do.
  std::set<int> weight_bit_widths;
  for (const auto& t : tensors)
    if (t.weight) weight_bit_widths.insert(t.bits);
  if (profiler && weight_bit_widths.size() > 1)
    throw StageError(
        "the 2021 profiler counts the whole model at one precision, and this model's layers have different bit widths",
        "score it with `convention: whittle`, which counts each layer at its own");
  const int global_bits = weight_bit_widths.empty() ? 32 : *weight_bit_widths.begin();
  auto qf_of = [&](int bits) {
    if (profiler) bits = global_bits;
    return 32.0 / std::min(bits == 32 ? 16 : bits, 32);
  };
  double params = 0, zeros = 0, weight_elems = 0, weight_bits_sum = 0;
  std::set<int> wb;
  for (const auto& t : tensors) {
    params += (t.n - t.zeros) / qf_of(t.bits);
    zeros += t.zeros;
    r.w += t.n;
    if (t.weight) weight_elems += t.n, weight_bits_sum += t.n * (t.bits == 32 ? 16 : t.bits), wb.insert(t.bits);
  }
  if (!profiler) {
    params += c.quantizer_params();
    r.w += c.quantizer_params();
  }
  r.p_u = zeros / r.w;
  double ops = 0;
  for (const auto& l : c.layers) {
    const double qf = qf_of(l.wbits), out = l.out_elems;
    if (l.conv)
      ops += out * ((l.conv_k / qf + l.conv_k - 1) / l.groups + (l.bias ? 1 : 0));
    else
      ops += out * (l.in_features / qf + l.in_features - 1 + (l.bias && !profiler ? 1 : 0));
  }
  ops += c.other_ops_2021;
  r.f = ops;
  r.mixed = wb.size() > 1;
  r.q_w = weight_elems > 0 ? weight_bits_sum / weight_elems : 16;
  r.q_a = r.q_w;  // the 2021 profiler has one precision per layer
  r.mixed_a = r.mixed;
  r.param_term = params / 5586981.0;
  r.ops_term = ops / 834362880.0;
  r.total = r.param_term + r.ops_term;
  if (profiler)
    r.settings = {
        "score = ops / 834362880 + params / 5586981 * (1 - sparsity), the course's 2021 profiler (convention: "
        "profiler)",
        fmt::format("precision: one for the whole model, as the profiler takes it: {} bits (the conv and linear "
                    "weights'; 16 where "
                    "not quantized), BatchNorm and biases included",
                    global_bits == 32 ? 16 : global_bits),
        "ops: conv out*[(k^2*C_in/qf + k^2*C_in - 1)/groups + bias], linear out*(in/qf + in - 1) (its counter has no "
        "bias op), "
        "BatchNorm 3 per input element, ReLU and GELU modules 1 per element, AvgPool2d modules out*k^2; functional "
        "calls count nothing",
        "params: all leaf-module parameters / qf, zeros not counted; quantizer scales and codebooks not counted"};
  else
    r.settings = {
        "score = ops / 834362880 + params / 5586981 * (1 - sparsity), the course's 2021 profiler (convention: whittle)",
        "precision: each tensor at its own bits: a layer's quantized weight bits, 16 bits (the profiler's default) "
        "where not "
        "quantized, BatchNorm and biases at 16",
        "ops: conv out*[(k^2*C_in/qf + k^2*C_in - 1)/groups + bias], linear out*(in/qf + in - 1 + bias), "
        "BatchNorm 3 per input element, ReLU and GELU modules 1 per element, AvgPool2d modules out*k^2; functional "
        "calls count nothing",
        "params: all leaf-module parameters / qf, zeros not counted; quantizer scales and codebooks at 32 bits"};
  return r;
}

ScoreReport micronet(const Census& c) {
  ScoreReport r;
  double storage = 0, zeros = 0, weight_elems = 0, weight_bits_sum = 0;
  std::set<int> wb;
  for (const auto& t : tensors_of(c)) {
    storage += (t.n - t.zeros) * t.bits / 32.0;
    r.w += t.n;
    zeros += t.zeros;
    if (t.weight) weight_elems += t.n, weight_bits_sum += t.n * t.bits, wb.insert(t.bits);
  }
  storage += c.quantizer_params();
  r.w += c.quantizer_params();
  r.p_u = zeros / r.w;
  double ops = 0, act_bits = 0, all_macs = 0;
  for (const auto& l : c.layers) {
    const double density = l.n > 0 ? 1 - l.zeros / l.n : 1;  // non-zero share of its weight
    const double macs = l.macs * density;
    ops += macs * std::max(l.wbits, l.abits) / 32.0 + macs;  // a multiply at its bits, an add at 32
    act_bits += l.macs * l.abits;
    all_macs += l.macs;
  }
  r.f = ops;
  r.q_a = all_macs > 0 ? act_bits / all_macs : 32;
  r.mixed = wb.size() > 1;
  r.q_w = weight_elems > 0 ? weight_bits_sum / weight_elems : 32;
  r.param_term = storage / 36.5e6;
  r.ops_term = ops / 10.49e9;
  r.total = r.param_term + r.ops_term;
  r.settings = {
      "score = storage / 36.5e6 + ops / 10.49e9 (MicroNet 2019, CIFAR-100 track; references: WideResNet-28-10)",
      "storage: every non-zero parameter at bits/32; quantizer scales and codebooks at 32 bits",
      "ops: per conv/linear MAC of a non-zero weight, one multiply at max(q_w, q_a)/32 and one add at 32 bits"};
  return r;
}

}  // namespace

ScoreReport score(const Census& c, const ScoreOptions& o) {
  ScoreReport r = o.version == "course2021"     ? course2021(c, o.profiler)
                  : o.version == "micronet2019" ? micronet(c)
                                                : course_current(c, o, o.version == "course2024" ? 8.3e8 : 2.8e8);
  r.version = o.version;
  if (o.views > 1) {  // test-time augmentation: each image goes through the model `views` times
    r.views = o.views;
    r.ops_term *= o.views;
    r.total = r.param_term + r.ops_term;
    r.settings.push_back(
        fmt::format("ops: {} forward passes per image (test-time augmentation), each counted", o.views));
  }
  return r;
}

ModelSize model_size(const Census& c) {
  constexpr double mib = 1024.0 * 1024.0;
  double stored = 0, packed = 0, sparse = 0;
  for (const auto& t : tensors_of(c)) {
    stored += t.n * (c.half ? 2 : 4);
    packed += t.n * t.bits / 8.0;
    sparse += (t.n - t.zeros) * t.bits / 8.0 + (t.weight && t.zeros > 0 ? t.n / 8.0 : 0);
  }
  const double q = c.quantizer_params() * 4;
  return {stored / mib, (packed + q) / mib, (sparse + q) / mib};
}

ScoreReport score(const Net& net, const ScoreOptions& o) { return score(census(net), o); }

ModelSize model_size(const Net& net) { return model_size(census(net)); }

std::string ScoreReport::text() const {
  const bool ops = version == "course2021" || version == "micronet2019";
  std::string out = fmt::format("score {}: {:.5g}\n", version, total);
  out += fmt::format("  w   = {:.0f} parameters\n", w);
  out += fmt::format("  f   = {:.0f} {}\n", f, ops ? "ops" : "MACs");
  out += fmt::format("  q_w = {}\n  q_a = {}\n", bits_text(q_w, mixed), bits_text(q_a, mixed_a));
  if (!ops) out += fmt::format("  p_s = {:.4f}\n", p_s);
  out += fmt::format("  p_u = {:.4f}\n", p_u);
  out += fmt::format("  parameter term = {:.5g}\n  ops term       = {:.5g}\n  total          = {:.5g}\n", param_term,
                     ops_term, total);
  for (const auto& s : settings) out += "  # " + s + "\n";
  return out;
}

std::map<std::string, double> size_and_cost(const Net& net, int views) { return figures(census(net), views); }

std::map<std::string, double> figures(const Census& c, int views) {
  std::map<std::string, double> m;
  // Sparsity among the conv/linear weights that pruning touched (those with a mask: a spared
  // first or last layer is not counted); among all of them before any pruning.
  double total = 0, nz = 0, masked = 0;
  for (const auto& l : c.layers) {
    if (!l.masked) continue;
    total += l.n;
    nz += l.n - l.zeros;
    masked += l.masked_zeros;
  }
  if (total == 0)
    for (const auto& l : c.layers) total += l.n, nz += l.n - l.raw_zeros;
  const double zeros = c.raw_zeros_all, w = c.params;
  m["params"] = w;
  m["nonzero"] = w - zeros;
  m["sparsity"] = total ? 1.0 - nz / total : 0.0;
  // What the masks alone remove: pruning's share, without the zeros a quantizer's rounding adds
  // (those depend on the trained weights, so `verify` cannot expect them of a recipe).
  m["masked_sparsity"] = total ? masked / total : 0.0;
  m["sparsity_all"] = w > 0 ? zeros / w : 0.0;  // what `prune P% of: all` counts
  m["macs"] = c.macs;
  ScoreOptions first;
  first.views = views;
  const ScoreReport r = score(c, first);
  m["bits"] = r.q_w;
  m["activation_bits"] = r.q_a;
  // The share of the default preset's score that is its ops term: with activations left at 32 bits it
  // is nearly all of it, and quantizing the weights further moves the score little (plan says so).
  m["score_ops_share"] = r.total > 0 ? r.ops_term / r.total : 0.0;
  for (const auto& preset : score_presets()) {
    ScoreOptions o;
    o.version = preset;
    o.views = views;
    m[score_key(preset)] = preset == r.version ? r.total : score(c, o).total;
  }
  if (views > 1) m["tta_views"] = views;
  const ModelSize size = model_size(c);
  m["size_mib"] = size.stored_mib;
  m["packed_mib"] = size.packed_mib;
  m["sparse_mib"] = size.sparse_mib;
  return m;
}

}  // namespace whittle::runtime::torchrt
