// The convolution and linear layers every architecture is built from. They are LibTorch's own
// (same parameters, same initialisation, same names) plus one thing LibTorch's C++ API lacks:
// forward hooks. While a net is profiled, each layer records its multiply-accumulates for one
// image, so MACs are measured from the forward pass of the real model, not re-derived per
// architecture by hand.
#pragma once
#include <torch/torch.h>

namespace whittle::runtime::torchrt {

/// True while a net is being profiled (one image, no gradient): layers record their MACs.
extern thread_local bool g_profiling;

/// A layer whose cost COURSE.md counts: conv or linear.
struct CountedLayer {
  std::int64_t macs = 0;  ///< multiply-accumulates for one image, from the last profiled forward
  virtual ~CountedLayer() = default;
};

struct ConvImpl : torch::nn::Conv2dImpl, CountedLayer {
  using torch::nn::Conv2dImpl::Conv2dImpl;
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::nn::Conv2dImpl::forward(x);
    // Per output element: k_h·k_w·C_in/groups (the weight is [C_out, C_in/groups, k_h, k_w]).
    if (g_profiling) macs = y[0].numel() * weight.size(1) * weight.size(2) * weight.size(3);
    return y;
  }
};
TORCH_MODULE(Conv);

struct LinearImpl : torch::nn::LinearImpl, CountedLayer {
  using torch::nn::LinearImpl::LinearImpl;
  torch::Tensor forward(const torch::Tensor& x) {
    if (g_profiling) macs = weight.size(0) * weight.size(1);
    return torch::nn::LinearImpl::forward(x);
  }
};
TORCH_MODULE(Linear);

}  // namespace whittle::runtime::torchrt
