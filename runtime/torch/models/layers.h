// The layers every architecture is built from. They are LibTorch's own (same parameters, same
// initialisation, same names) plus two things LibTorch's C++ API lacks:
// - forward hooks: while a net is profiled, each layer records what it did for one image (MACs,
//   input and output elements), so costs are measured from the forward pass of the real model,
//   not re-derived per architecture by hand;
// - a quantizer slot: after `quantize`, a conv or linear layer computes with the weight and the
//   input its quantizer gives it (fake quantization with a straight-through gradient).
#pragma once
#include <torch/torch.h>
#include <torch/version.h>

namespace whittle::runtime::torchrt {

/// A mode of the current thread for the length of a scope: `Profiling::Scope profiling;` makes
/// `Profiling::on()` true until the scope ends, by an exception too, and then restores what it was.
template <class Tag>
class ThreadMode {
 public:
  static bool on() { return flag(); }
  class Scope {
   public:
    Scope() : was_(flag()) { flag() = true; }
    ~Scope() { flag() = was_; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    bool was_;
  };

 private:
  static bool& flag() {
    static thread_local bool on = false;
    return on;
  }
};
/// While a net is being profiled (one image, no gradient): layers record their costs.
using Profiling = ThreadMode<struct ProfilingTag>;

/// What `quantize` puts on a conv or linear layer (quant.h has the kinds). Its parameters and
/// buffers (a k-means codebook, an APoT clipping level, activation ranges) are registered under
/// the layer as `q`, so they are trained, saved and loaded with the model.
struct LayerQuantizer : torch::nn::Module {
  /// The weight the layer computes with, from its stored (latent) weight.
  virtual torch::Tensor weight(const torch::Tensor& w) = 0;
  /// The layer's input as the quantized model sees it.
  virtual torch::Tensor input(const torch::Tensor& x) = 0;
  /// Keeps the latent weight where the method needs it after an optimizer step (BinaryConnect clips to [-1, 1]).
  virtual void constrain(torch::Tensor& /*w*/) {}
};

enum class LayerKind { Conv, Linear, BatchNorm, ReLU, GELU, AvgPool };

/// A layer's realised int8 computation after `convert` (int8.h): float in, float out.
struct Int8Kernel {
  virtual ~Int8Kernel() = default;
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

/// While `convert` traces and calibrates (and ThiNet samples): every conv, linear, BN and ReLU reports
/// its input and output.
struct LayerObserver {
  virtual ~LayerObserver() = default;
  virtual void seen(const torch::nn::Module* layer, const torch::Tensor& x, const torch::Tensor& y) = 0;
};
extern thread_local LayerObserver* g_observer;
/// Sets g_observer for a scope.
struct ObserverScope {
  explicit ObserverScope(LayerObserver* o) { g_observer = o; }
  ~ObserverScope() { g_observer = nullptr; }
  ObserverScope(const ObserverScope&) = delete;
  ObserverScope& operator=(const ObserverScope&) = delete;
};

/// A layer whose cost some score counts. Filled by the last profiled forward pass, per image.
struct CountedLayer {
  std::int64_t macs = 0, in_elems = 0, out_elems = 0;
  virtual LayerKind kind() const = 0;
  virtual ~CountedLayer() = default;

 protected:
  void record(const torch::Tensor& x, const torch::Tensor& y, std::int64_t m) {
    in_elems = x[0].numel();
    out_elems = y[0].numel();
    macs = m;
  }
};

/// Conv and linear: counted, prunable, quantizable.
struct WeightLayer : CountedLayer {
  std::shared_ptr<LayerQuantizer> quant;  ///< null until `quantize`
  std::shared_ptr<Int8Kernel> int8;       ///< null until `convert`
};

struct ConvImpl : torch::nn::Conv2dImpl, WeightLayer {
  using torch::nn::Conv2dImpl::Conv2dImpl;
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = int8    ? int8->forward(x)
             : quant ? _conv_forward(quant->input(x), quant->weight(weight))
                     : torch::nn::Conv2dImpl::forward(x);
    if (g_observer) g_observer->seen(this, x, y);
    // Per output element: k_h·k_w·C_in/groups (the weight is [C_out, C_in/groups, k_h, k_w]).
    if (Profiling::on()) record(x, y, y[0].numel() * weight.size(1) * weight.size(2) * weight.size(3));
    return y;
  }
  LayerKind kind() const override { return LayerKind::Conv; }
};
TORCH_MODULE(Conv);

/// A network's `whiten` layer: a conv whose weight is computed from the training images and frozen
/// (whitening.h); its bias learns for the first `bias_epochs` epochs of each train (fit.cc).
struct WhitenImpl : ConvImpl {
  WhitenImpl(torch::nn::Conv2dOptions o, int bias_epochs_, int images_, double eps_)
      : ConvImpl(std::move(o)), bias_epochs(bias_epochs_), images(images_), eps(eps_) {
    weight.requires_grad_(false);
  }
  int bias_epochs, images;
  double eps;
};

/// A conv's padding, which every architecture gives explicitly (not `same` or `valid`).
inline std::vector<std::int64_t> conv_padding(const ConvImpl& c) {
#if TORCH_VERSION_MAJOR >= 2
  const auto* pad = std::get_if<torch::ExpandingArray<2>>(&c.options.padding());
#else
  const auto* pad = c10::get_if<torch::ExpandingArray<2>>(&c.options.padding());
#endif
  if (!pad) throw std::runtime_error("this conv has no explicit padding");
  return {(**pad)[0], (**pad)[1]};
}

struct LinearImpl : torch::nn::LinearImpl, WeightLayer {
  using torch::nn::LinearImpl::LinearImpl;
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = quant ? torch::nn::functional::linear(quant->input(x), quant->weight(weight), bias)
                   : torch::nn::LinearImpl::forward(x);
    if (scale != 1) y = y * scale;  // a network's `linear scale:` (airbench's head)
    if (g_observer) g_observer->seen(this, x, y);
    if (Profiling::on()) record(x, y, weight.size(0) * weight.size(1));
    return y;
  }
  double scale = 1;
  LayerKind kind() const override { return LayerKind::Linear; }
};
TORCH_MODULE(Linear);

/// BatchNorm2d, ReLU and AvgPool2d modules: counted only by the course2021 profiler (which, like
/// the course's, counts modules and not functional calls).
struct BNImpl : torch::nn::Module, CountedLayer {
  // LibTorch's BatchNorm2d cannot be subclassed from outside the library (its base's virtual
  // functions are not exported), so this is the same module written out: the same parameters,
  // buffers, names, defaults (eps 1e-5, momentum 0.1) and arithmetic (torch::batch_norm).
  explicit BNImpl(std::int64_t features, double momentum_ = 0.1, double eps_ = 1e-5) : momentum(momentum_), eps(eps_) {
    weight = register_parameter("weight", torch::ones({features}));
    bias = register_parameter("bias", torch::zeros({features}));
    running_mean = register_buffer("running_mean", torch::zeros({features}));
    running_var = register_buffer("running_var", torch::ones({features}));
    num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    if (folded) return x;  // folded into the conv before it (int8.h)
    if (is_training()) {
      torch::NoGradGuard no_grad;
      num_batches_tracked += 1;
    }
    auto y = torch::batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, eps,
                               at::globalContext().userEnabledCuDNN());
    if (Profiling::on()) record(x, y, 0);
    if (g_observer) g_observer->seen(this, x, y);
    return y;
  }
  LayerKind kind() const override { return LayerKind::BatchNorm; }
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  double momentum, eps;
  bool folded = false;
};
TORCH_MODULE(BN);

/// A ReLU that `convert` may fuse into the int8 conv before it.
struct Fusable {
  bool fused = false;
  virtual ~Fusable() = default;
};

struct ReLUImpl : torch::nn::ReLUImpl, CountedLayer, Fusable {
  using torch::nn::ReLUImpl::ReLUImpl;
  torch::Tensor forward(torch::Tensor x) {
    if (fused) return x;  // fused into the int8 conv before it (int8.h)
    const auto in = Profiling::on() ? x[0].numel() : 0;
    auto y = torch::nn::ReLUImpl::forward(x);
    if (Profiling::on()) in_elems = in, out_elems = y[0].numel();
    if (g_observer) g_observer->seen(this, x, y);
    return y;
  }
  LayerKind kind() const override { return LayerKind::ReLU; }
};
TORCH_MODULE(ReLU);

/// nn.GELU (exact, erf-based): counted by the course2021 profiler as a ReLU module is, one op per element.
struct GELUImpl : torch::nn::Module, CountedLayer {
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::gelu(x);
    if (Profiling::on()) record(x, y, 0);
    if (g_observer) g_observer->seen(this, x, y);
    return y;
  }
  LayerKind kind() const override { return LayerKind::GELU; }
};
TORCH_MODULE(GELU);

/// The ReLU of a forward pass written with a function call (kuangliu's `F.relu`): a module only so
/// that `convert` can see it and fuse it; no score counts it (course2021's profiler counts ReLU
/// modules only where the reference model has them), and it has no parameters.
struct FunctionalReLUImpl : torch::nn::Module, Fusable {
  torch::Tensor forward(const torch::Tensor& x) {
    if (fused) return x;  // fused into the int8 conv before it (int8.h)
    auto y = torch::relu(x);
    if (g_observer) g_observer->seen(this, x, y);
    return y;
  }
};
TORCH_MODULE(FunctionalReLU);

struct AvgPoolImpl : torch::nn::AvgPool2dImpl, CountedLayer {
  using torch::nn::AvgPool2dImpl::AvgPool2dImpl;
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::nn::AvgPool2dImpl::forward(x);
    if (Profiling::on()) record(x, y, 0);
    return y;
  }
  LayerKind kind() const override { return LayerKind::AvgPool; }
};
TORCH_MODULE(AvgPool);

}  // namespace whittle::runtime::torchrt
