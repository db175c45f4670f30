// Building blocks shared by the architecture files: conv/BN constructors and the `groups` check.
#pragma once
#include <fmt/format.h>

#include "runtime/plan/stage.h"
#include "runtime/torch/models/archs.h"
#include "runtime/torch/models/layers.h"

namespace whittle::runtime::torchrt::parts {
namespace nn = torch::nn;

using T = torch::Tensor;

inline Conv conv(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride = 1, std::int64_t pad = 0,
                 std::int64_t groups = 1, bool bias = false) {
  return Conv(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).groups(groups).bias(bias));
}
inline Conv conv3(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t groups, bool bias = false) {
  return conv(in, out, 3, stride, 1, groups, bias);
}
inline BN bn(std::int64_t c) { return BN(c); }

/// `groups` of the 3x3 convolutions, checked against their channel counts.
struct Groups {
  std::int64_t g = 1;
  std::int64_t operator()(std::int64_t in, std::int64_t out) const {
    if (g == 1) return 1;
    if (in % g != 0 || out % g != 0)
      throw StageError(
          fmt::format("`groups: {}` does not divide a 3x3 convolution of {} to {} channels", g, in, out),
          "choose a group count that divides every channel count of the architecture (a power of two usually does)");
    return g;
  }
};

/// The residual architectures (archs_resnet.cc): ResNet18/34, PreActResNet18, ResNet-20/56,
/// ResNet-9 and fastnet; null for any other name.
std::shared_ptr<NetImpl> make_residual(const std::string& arch, const ArchParams& p, const Shape& s);

}  // namespace whittle::runtime::torchrt::parts
