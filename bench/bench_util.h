// Small helpers the LibTorch benchmarks share.
#pragma once
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "runtime/torch/models/archs.h"

namespace whittle::bench {

/// An integer from the environment, or `fallback`.
inline int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// A CIFAR-shaped model of `arch` from seed 0, profiled, in eval mode.
inline runtime::torchrt::Net cifar_net(const std::string& arch) {
  using namespace runtime::torchrt;
  torch::manual_seed(0);
  Net net;
  const Shape s{3, 32, 32, 10};
  net.module = make_arch(arch, {}, s);
  profile(*net.module, s);
  net.module->eval();
  return net;
}

}  // namespace whittle::bench
