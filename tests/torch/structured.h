// A check shared by the torch tests: structured pruning, masked or physical, computes the same
// function, and a physically slimmed checkpoint loads into a fresh build of the same model.
#pragma once
#include <catch2/catch.hpp>

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <functional>

#include "runtime/torch/compression/model_file.h"
#include "runtime/torch/compression/prune.h"

namespace whittle::test {

/// `build` makes the same freshly initialised model each time it is called.
inline void check_masked_equals_physical(const std::function<runtime::torchrt::Net()>& build,
                                         const runtime::torchrt::Shape& shape) {
  using namespace runtime::torchrt;
  Net masked = build();
  // Non-trivial BN statistics, so that slicing running means and variances matters.
  masked.module->train();
  {
    torch::NoGradGuard g;
    masked.module->forward(torch::randn({8, shape.channels, shape.height, shape.width}));
  }
  masked.module->eval();
  const auto file = std::filesystem::temp_directory_path() / "whittle-structured.pt";
  save_net(masked, file.string());
  Net physical = build();
  load_net(physical, file.string());
  auto g1 = at::make_generator<at::CPUGeneratorImpl>(5);
  auto g2 = at::make_generator<at::CPUGeneratorImpl>(5);
  PruneSpec spec;
  spec.amount = 0.5;
  spec.criterion = "l2";
  spec.structured = true;
  prune(masked, spec, g1);
  spec.physical = true;
  prune(physical, spec, g2);
  physical.module->eval();
  const auto x = torch::randn({4, shape.channels, shape.height, shape.width});
  torch::NoGradGuard g;
  CHECK(torch::allclose(masked.module->forward(x), physical.module->forward(x), 1e-3, 1e-4));
  CHECK(count_params(physical) < count_params(masked));
  CHECK(physical.module->macs() < masked.module->macs());
  // Its checkpoint rebuilds the thinner model from a fresh one of the same architecture.
  save_net(physical, file.string());
  Net again = build();
  load_net(again, file.string());
  again.module->eval();
  CHECK(count_params(again) == count_params(physical));
  CHECK(again.module->macs() == physical.module->macs());
  CHECK(torch::allclose(again.module->forward(x), physical.module->forward(x)));
  std::filesystem::remove(file);
}

}  // namespace whittle::test
