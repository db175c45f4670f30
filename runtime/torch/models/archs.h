// The architectures a `model` stage can build (kuangliu/pytorch-cifar conventions, docs/course.md).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

/// The knobs of a `model` stage that shape an architecture.
struct ArchParams {
  std::int64_t width = 0;  ///< base channels; 0: the architecture's own
  double width_mult = 1;   ///< MobileNet / MobileNetV2
  std::int64_t growth = 12;
  std::vector<int> blocks = {6, 12, 24, 16};
  double reduction = 0.5;
  std::int64_t groups = 1;  ///< of the 3x3 convolutions
};

/// A freshly initialised (LibTorch's default initialisation, seeded by the caller) network.
std::shared_ptr<NetImpl> make_arch(const std::string& arch, const ArchParams& params, const Shape& shape);

}  // namespace whittle::runtime::torchrt
