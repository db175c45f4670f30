// bench/gpu_compare.sh in its CPU setting, so that the GPU comparison keeps working between GPU
// sessions: both sides train each model, and the models are the same (their parameter counts agree).
#include <catch2/catch.hpp>

#include "tests/cli/helpers.h"

using namespace whittle::test;

TEST_CASE("bench/gpu_compare.sh --smoke trains fastnet, ResNet18 and DenseNet-B on both sides", "[bench]") {
  if (run_whittle_cmd("/usr/bin/python3 -c 'import torch'").code != 0) {
    WARN("skipped: no python3-torch");
    return;
  }
  if (!fashion_mnist_installed()) return;
  const Result r = run_whittle_cmd(std::string("WHITTLE=") + WHITTLE_BIN + " " + WHITTLE_SOURCE_DIR + "/bench/gpu_compare.sh --smoke --repeats 1");
  INFO(r.out);
  REQUIRE(r.code == 0);
  for (const char* arch : {"fastnet ", "resnet18 ", "densenet_b "}) CHECK(r.out.find(std::string("  ") + arch) != std::string::npos);
  std::size_t ratios = 0;
  for (auto at = r.out.find("whittle / pytorch:"); at != std::string::npos; at = r.out.find("whittle / pytorch:", at + 1)) ++ratios;
  CHECK(ratios == 3);
  CHECK(r.out.find("NOT the same model") == std::string::npos);
}
