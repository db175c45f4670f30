// The quantizers of quant.h.
#include "runtime/torch/compression/quant.h"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <cmath>

#include "runtime/plan/params.h"
#include "runtime/plan/stage.h"

namespace whittle::runtime::torchrt {

void to_json(nlohmann::json& j, const QuantSpec& s) {
  j = {{"method", s.method},
       {"bits", s.bits},
       {"activations", s.abits},
       {"per_channel", s.per_channel},
       {"stochastic", s.stochastic}};
  if (s.range != "minmax") j["range"] = s.range;  // absent in the files of models quantized before `range:`
}
void from_json(const nlohmann::json& j, QuantSpec& s) {
  s.method = j.at("method").get<std::string>();
  s.bits = j.at("bits").get<int>();
  s.abits = j.at("activations").get<int>();
  s.per_channel = j.at("per_channel").get<bool>();
  s.stochastic = j.at("stochastic").get<bool>();
  s.range = j.value("range", std::string("minmax"));
}

torch::Tensor uniform_weight(const torch::Tensor& w, int bits, bool per_channel) {
  // Symmetric: 2^(b-1) - 1 levels on each side of zero, the scale from the largest magnitude.
  const double n = std::ldexp(1.0, bits - 1) - 1;
  torch::Tensor s;
  if (per_channel) {
    std::vector<std::int64_t> shape(static_cast<std::size_t>(w.dim()), 1);
    shape[0] = w.size(0);
    s = w.abs().flatten(1).amax(1).view(shape);
  } else {
    s = w.abs().max();
  }
  s = torch::clamp_min(s / n, 1e-12);
  return torch::round(w / s) * s;
}

std::int64_t uniform_quantizer_params(const QuantSpec& spec, std::int64_t out_channels) {
  return (spec.abits < 32 ? 2 : 0) + (spec.per_channel ? out_channels : 1);  // activation range; weight scales
}

namespace {
using T = torch::Tensor;

/// Straight-through estimator: exactly the value of `q`, the gradient of `x` (x - x.detach() is an exact zero).
T ste(const T& x, const T& q) { return q.detach() + (x - x.detach()); }

/// Nearest entry of the sorted 1-d `levels` for every element of `v` (no gradient).
T nearest(const T& v, const T& levels) {
  const auto n = levels.size(0);
  const T mids = (levels.slice(0, 1) + levels.slice(0, 0, n - 1)) / 2;
  return levels.index_select(0, torch::bucketize(v.flatten(), mids)).view(v.sizes());
}

/// The per-tensor affine fake quantization of `x` on [min(lo, 0), max(hi, 0)] (zero exact) at
/// 2^bits - 1 steps, clipped; `x` itself when `straight_through` is false, else its gradient passes
/// inside the range.
T affine(const T& x, const T& lo, const T& hi, double levels, bool straight_through) {
  const T l = torch::clamp_max(lo, 0).to(x.dtype()), h = torch::clamp_min(hi, 0).to(x.dtype());
  const T scale = torch::clamp_min((h - l) / levels, 1e-8);
  const T zero = torch::round(-l / scale);
  const T xc = torch::minimum(torch::maximum(x, -zero * scale), (levels - zero) * scale);
  const T q = (torch::clamp(torch::round(xc.detach() / scale) + zero, 0, levels) - zero) * scale;
  return straight_through ? ste(xc, q) : q;
}

/// The range of one batch for `range: mse`: [xmin, xmax] scaled by the factor of 1, 0.95, ..., 0.05
/// whose quantization has the least squared error over a sample of about 2^16 elements: whole
/// images evenly spaced through the batch, then every k-th element (deterministic, and cheap beside
/// the layer: nothing the size of the batch is copied).
std::pair<T, T> mse_range(const T& x, const T& xmin, const T& xmax, double levels) {
  constexpr std::int64_t kSample = std::int64_t{1} << 16;
  const std::int64_t n = x.size(0), per_image = std::max<std::int64_t>(1, x.numel() / std::max<std::int64_t>(1, n));
  const std::int64_t images = std::min(n, (kSample + per_image - 1) / per_image);
  const T picked = images < n
                       ? x.detach().index_select(
                             0, torch::div(torch::arange(images, torch::dtype(torch::kLong).device(x.device())) * n,
                                           images, "floor"))
                       : x.detach();
  const T flat = picked.flatten().to(xmin.dtype());
  const T v = flat.slice(0, 0, flat.numel(), std::max<std::int64_t>(1, flat.numel() / kSample));
  const T factors = torch::arange(20, 0, -1, v.options()) / 20;  // [K]
  const T lo = (torch::clamp_max(xmin, 0) * factors).unsqueeze(1),
          hi = (torch::clamp_min(xmax, 0) * factors).unsqueeze(1);
  const T err = (affine(v.unsqueeze(0), lo, hi, levels, false) - v.unsqueeze(0)).square().sum(1);
  const T best = err.argmin();
  return {lo.squeeze(1).index({best}), hi.squeeze(1).index({best})};
}

/// What every quantizer shares: its spec and the activation quantizer of the layer's input.
struct Base : LayerQuantizer {
  QuantSpec spec;
  T lo, hi;            ///< the activation range: calibrated, then a moving average while training
  int calibrated = 0;  ///< batches seen while calibrating `range: mse` (their ranges are averaged)

  explicit Base(QuantSpec s) : spec(std::move(s)) {
    if (spec.abits < 32 && spec.method != "float") {
      lo = register_buffer("act_min", torch::full({}, std::numeric_limits<float>::infinity()));
      hi = register_buffer("act_max", torch::full({}, -std::numeric_limits<float>::infinity()));
    }
  }

  T input(const T& x) override {
    if (spec.method == "float") return ste(x, x.to(torch::kHalf).to(x.scalar_type()));
    if (spec.abits >= 32) return x;
    const double levels = std::ldexp(1.0, spec.abits) - 1;
    {
      torch::NoGradGuard no_grad;
      T xmin = x.detach().min().to(lo.dtype()), xmax = x.detach().max().to(hi.dtype());
      const bool mse = spec.range == "mse";
      if (mse && (Calibrating::on() || is_training())) std::tie(xmin, xmax) = mse_range(x, xmin, xmax, levels);
      if (Calibrating::on() && mse) {  // the mean of the batches' ranges
        const double n = calibrated++;
        lo.copy_(torch::where(torch::isfinite(lo), (lo * n + xmin) / (n + 1), xmin));
        hi.copy_(torch::where(torch::isfinite(hi), (hi * n + xmax) / (n + 1), xmax));
        return x;
      }
      if (Calibrating::on()) {
        lo.copy_(torch::minimum(lo, xmin));
        hi.copy_(torch::maximum(hi, xmax));
        return x;
      }
      if (is_training()) {  // moving average (0.01), started from the batch when never calibrated
        lo.copy_(torch::where(torch::isfinite(lo), lo * 0.99 + xmin * 0.01, xmin));
        hi.copy_(torch::where(torch::isfinite(hi), hi * 0.99 + xmax * 0.01, xmax));
      }
    }
    return affine(x, lo, hi, levels, true);
  }
};

struct Uniform : Base {
  using Base::Base;
  T weight(const T& w) override { return ste(w, uniform_weight(w.detach(), spec.bits, spec.per_channel)); }
};

struct Half : Base {
  using Base::Base;
  T weight(const T& w) override { return ste(w, w.detach().to(torch::kHalf).to(w.scalar_type())); }
};

struct KMeans : Base {
  T codebook, index;
  KMeans(QuantSpec s, const T& w, bool init, int iterations) : Base(std::move(s)) {
    codebook = register_parameter("codebook", torch::zeros({std::int64_t{1} << spec.bits}));
    index = register_buffer("index", torch::zeros(w.sizes(), torch::kLong));
    if (init) cluster(w, iterations);
  }
  /// Lloyd's algorithm in one dimension over the non-zero weights, from centroids spread linearly
  /// between the smallest and largest (Deep Compression's best initialisation).
  void cluster(const T& w, int iterations) {
    torch::NoGradGuard no_grad;
    const T v = w.detach().flatten().to(torch::kCPU, torch::kFloat);
    const T vals = v.masked_select(v.ne(0));
    const std::int64_t k = codebook.size(0);
    if (vals.numel() == 0) return;
    T c = torch::linspace(vals.min().item<double>(), vals.max().item<double>(), k);
    for (int it = 0; it < iterations; ++it) {
      const T mids = (c.slice(0, 1) + c.slice(0, 0, k - 1)) / 2;
      const T a = torch::bucketize(vals, mids);
      const T sums = torch::zeros({k}).index_add_(0, a, vals);
      const T counts = torch::zeros({k}).index_add_(0, a, torch::ones_like(vals));
      T next = std::get<0>(torch::where(counts > 0, sums / counts.clamp_min(1), c).sort());
      if (torch::equal(next, c)) break;
      c = next;
    }
    const T mids = (c.slice(0, 1) + c.slice(0, 0, k - 1)) / 2;
    codebook.copy_(c.to(codebook.device()));
    index.copy_(torch::bucketize(v, mids).view(w.sizes()).to(index.device()));
  }
  /// Shared values; a pruned (zero) weight stays zero. The codebook's gradient is the sum of the
  /// gradients of the weights that share each centroid (index_select's backward adds them up).
  T weight(const T& w) override {
    return codebook.index_select(0, index.flatten()).view(w.sizes()) * w.detach().ne(0).to(w.dtype());
  }
};

/// Magnitudes of APoT's levels for b bits (signed: one bit is the sign), largest 1: sums of one
/// term from each of ceil((b-1)/2) additive terms; term t takes 0 or 2^-(t+1+n·i).
T apot_levels(int bits) {
  const int m = bits - 1, n = (m + 1) / 2;
  std::vector<double> sums{0.0};
  for (int t = 0; t < n; ++t) {
    const int tb = (t == n - 1 && m % 2 == 1) ? 1 : 2;  // bits of this term
    std::vector<double> next;
    for (double s : sums) {
      next.push_back(s);
      for (int i = 0; i < (1 << tb) - 1; ++i) next.push_back(s + std::ldexp(1.0, -(t + 1 + n * i)));
    }
    sums = std::move(next);
  }
  std::sort(sums.begin(), sums.end());
  sums.erase(std::unique(sums.begin(), sums.end()), sums.end());
  T levels = torch::tensor(sums, torch::kFloat);
  return levels / levels.max();
}

struct APoT : Base {
  T alpha, levels;
  APoT(QuantSpec s, const T& w, bool init) : Base(std::move(s)) {
    alpha = register_parameter("alpha", torch::ones({}));
    levels = register_buffer("levels", apot_levels(spec.bits));
    if (init) {
      torch::NoGradGuard no_grad;
      const T v = w.detach().flatten();
      const T nz = v.masked_select(v.ne(0));
      if (nz.numel() > 1) alpha.fill_(std::min(3 * nz.std().item<double>(), nz.abs().max().item<double>()));
    }
  }
  /// w ≈ α·sign(u)·level(|u|), u = clamp(w/α, -1, 1); α learns through the straight-through
  /// gradient (q − u inside the range, sign(w) where clipped: APoT's clipping gradient).
  T weight(const T& w) override {
    const T a = torch::clamp_min(alpha, 1e-8);
    const T u = torch::clamp(w / a, -1, 1);
    const T q = nearest(u.detach().abs(), levels) * u.detach().sign();
    return a * ste(u, q);
  }
};

struct Binary : Base {
  T scale;
  Binary(QuantSpec s, T& w, bool init) : Base(std::move(s)) {
    scale = register_buffer("scale", torch::ones({}));
    if (init) {  // the latent weights in units of the layer's mean magnitude, clipped to [-1, 1]
      torch::NoGradGuard no_grad;
      const T nz = w.detach().flatten().masked_select(w.detach().flatten().ne(0));
      if (nz.numel() > 0) scale.fill_(nz.abs().mean().item<double>());
      w.div_(scale).clamp_(-1, 1);
    }
  }
  T weight(const T& w) override {
    T b;
    if (spec.stochastic && is_training()) {  // +1 with probability hard_sigmoid(w) = clip((w + 1) / 2)
      b = (torch::bernoulli(((w.detach() + 1) / 2).clamp(0, 1)) * 2 - 1) * w.detach().ne(0).to(w.dtype());
    } else {
      b = w.detach().sign();
    }
    return ste(w, b) * scale;
  }
  void constrain(T& w) override {
    torch::NoGradGuard no_grad;
    w.clamp_(-1, 1);
  }
};

}  // namespace

void quantize_layer(torch::nn::Module& m, const QuantSpec& spec, bool initialise, int kmeans_iterations) {
  auto* layer = dynamic_cast<WeightLayer*>(&m);
  if (!layer) throw std::logic_error("quantize_layer: not a conv or linear layer");
  T w = m.named_parameters(false)["weight"];
  torch::NoGradGuard no_grad;
  if (layer->quant) {
    if (initialise) w.copy_(layer->quant->weight(w));  // requantize from what the layer computes with
    m.unregister_module("q");
    layer->quant.reset();
  }
  std::shared_ptr<LayerQuantizer> q;
  if (spec.method == "uniform")
    q = std::make_shared<Uniform>(spec);
  else if (spec.method == "float")
    q = std::make_shared<Half>(spec);
  else if (spec.method == "kmeans")
    q = std::make_shared<KMeans>(spec, w, initialise, kmeans_iterations);
  else if (spec.method == "apot")
    q = std::make_shared<APoT>(spec, w, initialise);
  else if (spec.method == "binary")
    q = std::make_shared<Binary>(spec, w, initialise);
  else
    throw StageError("unknown quantization method `" + spec.method + "`");
  q->to(w.device());
  layer->quant = m.register_module("q", q);
}

QuantSpec quant_spec(const lang::StageInstance& s) {
  QuantSpec q;
  const Params params(s);
  q.method = params.word("method");
  q.bits = static_cast<int>(params.count("bits"));
  q.abits = static_cast<int>(params.count("activations"));
  q.per_channel = params.word("granularity") == "per_channel";
  q.stochastic = params.flag("stochastic");
  q.range = params.word("range");
  if (q.method == "float") q.abits = 16;
  if ((q.method == "uniform" || q.method == "apot") && (q.bits < 2 || q.bits > 16))
    throw StageError(fmt::format("`{}` quantization takes 2 to 16 bits, not {}", q.method, q.bits),
                     q.bits < 2 ? "for one bit use `quantize 1 bit binary` (BinaryConnect)"
                                : "32 bits is no quantization: leave the stage out");
  if (q.method == "kmeans" && q.bits > 16)
    throw StageError(fmt::format("k-means with {} bits would need 2^{} centroids per layer", q.bits, q.bits),
                     "use at most 16 bits");
  if (q.abits != 32 && q.method != "float" && (q.abits < 2 || q.abits > 16))
    throw StageError(fmt::format("activations are quantized to 2 to 16 bits (or left in float at 32), not {}", q.abits),
                     "write `activations: 8 bits`, or leave `activations:` out");
  if (q.range != "minmax" && q.abits >= 32)
    throw StageError("`range:` is how quantized activations take their range, and this stage leaves them in float",
                     "add `activations: 8 bits` (or fewer), or remove `range:`");
  if (const auto b = params.count("first_last"); b > 0 && (q.method != "uniform" || b < 2 || b > 16))
    throw StageError(
        q.method != "uniform"
            ? fmt::format("`first_last:` sets the bits of uniform quantization's end layers, and this stage is `{}`",
                          q.method)
            : fmt::format("`first_last:` takes 2 to 16 bits, not {}", b),
        q.method != "uniform" ? "remove `first_last:`" : "write `first_last: 8 bits`");
  if (q.stochastic && q.method != "binary")
    throw StageError("`stochastic: true` is for BinaryConnect",
                     "write `quantize 1 bit binary stochastic: true`, or remove it");
  return q;
}

int quantize_net(Net& net, const lang::StageInstance& s, int kmeans_iterations) {
  const auto layers = net.layers();
  std::vector<bool> conv;
  for (const auto& l : layers) conv.push_back(l.layer->kind() == LayerKind::Conv);
  const auto chosen = quantized_layers(conv, s);
  for (const auto& [i, spec] : chosen) quantize_layer(*layers[i].module, spec, true, kmeans_iterations);
  if (quant_spec(s).method == "float" && Params(s).word("layers") == "all") net.half = true;
  net.masks_changed();
  net.apply_masks();
  return static_cast<int>(chosen.size());
}

std::vector<std::pair<std::size_t, QuantSpec>> quantized_layers(const std::vector<bool>& conv,
                                                                const lang::StageInstance& s) {
  const QuantSpec q = quant_spec(s);
  const Params params(s);
  const std::string which = params.word("layers");
  std::vector<std::size_t> chosen;
  for (std::size_t i = 0; i < conv.size(); ++i)
    if (which == "all" || (which == "conv") == conv[i]) chosen.push_back(i);
  // `first_last: B bits`: the first and the last chosen layers' weights (and activations, when
  // quantized) at B bits, the usual guard of a few-bit network's input and logits.
  QuantSpec ends = q;
  if (const int b = static_cast<int>(params.count("first_last")); b > 0) {
    ends.bits = b;
    if (q.abits < 32) ends.abits = b;
  }
  std::vector<std::pair<std::size_t, QuantSpec>> out;
  for (std::size_t i = 0; i < chosen.size(); ++i)
    out.emplace_back(chosen[i], i == 0 || i + 1 == chosen.size() ? ends : q);
  return out;
}

const QuantSpec& spec_of(const LayerQuantizer& q) { return dynamic_cast<const Base&>(q).spec; }

std::int64_t quantizer_params(const LayerQuantizer& q, const torch::Tensor& weight) {
  const auto& b = dynamic_cast<const Base&>(q);
  std::int64_t n = b.lo.defined() ? 2 : 0;  // activation scale and zero point
  if (const auto* k = dynamic_cast<const KMeans*>(&q)) return n + k->codebook.numel();
  if (dynamic_cast<const APoT*>(&q) || dynamic_cast<const Binary*>(&q)) return n + 1;
  if (b.spec.method == "uniform") return uniform_quantizer_params(b.spec, weight.size(0));
  return n;
}

}  // namespace whittle::runtime::torchrt
