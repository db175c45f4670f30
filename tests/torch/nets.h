// Models the torch tests share: a freshly initialised, profiled built-in architecture, and every
// conv and linear layer of it quantized with one spec.
#pragma once
#include <string>

#include "runtime/torch/compression/quant.h"
#include "runtime/torch/models/archs.h"

namespace whittle::test {

using runtime::torchrt::ArchParams;
using runtime::torchrt::Net;
using runtime::torchrt::QuantSpec;
using runtime::torchrt::Shape;

inline Net build(const std::string& arch, Shape s = {3, 32, 32, 10}, ArchParams p = {}) {
  torch::manual_seed(0);
  Net net;
  net.module = runtime::torchrt::make_arch(arch, p, s);
  runtime::torchrt::profile(*net.module, s);
  return net;
}

inline void quantize_all(Net& net, QuantSpec q) {
  for (auto& l : net.layers()) runtime::torchrt::quantize_layer(*l.module, q);
  if (q.method == "float") net.half = true;
  net.masks_changed();
  net.apply_masks();
}

}  // namespace whittle::test
