// `convert`: LibTorch's int8 kernels with BN folded and ReLU fused compute what the float model
// computes, to within the quantization's rounding, on several architectures; the conversion
// survives a checkpoint.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>

#include "runtime/torch/compression/int8.h"
#include "runtime/torch/compression/model_file.h"
#include "runtime/torch/models/archs.h"
#include "runtime/torch/models/layers.h"

using namespace whittle::runtime::torchrt;

namespace {

Net build(const std::string& arch, ArchParams p = {}) {
  torch::manual_seed(0);
  Net net;
  const Shape s{3, 32, 32, 10};
  net.module = make_arch(arch, p, s);
  profile(*net.module, s);
  torch::NoGradGuard no_grad;  // BN statistics of some real passes, as a trained model has
  net.module->train();
  for (int i = 0; i < 3; ++i) net.module->forward(torch::randn({16, 3, 32, 32}));
  net.module->eval();
  return net;
}

std::vector<torch::Tensor> calibration() {
  std::vector<torch::Tensor> b;
  for (int i = 0; i < 4; ++i) b.push_back(torch::randn({32, 3, 32, 32}));
  return b;
}

}  // namespace

TEST_CASE("int8 convert keeps the float model's predictions on residual, dense, depthwise and plain nets", "[int8]") {
  REQUIRE(int8_engine_available("onednn"));
  for (const std::string arch : {"resnet20", "densenet_cifar", "mobilenet", "vgg11", "fastnet"}) {
    INFO(arch);
    torch::manual_seed(1);
    Net net = build(arch);
    const auto x = torch::randn({64, 3, 32, 32});
    torch::NoGradGuard no_grad;
    const auto ref = net.module->forward(x);
    const int convs = convert_int8(net, "onednn", calibration());
    int conv_layers = 0, folded = 0;
    for (const auto& m : net.module->modules(false)) {
      if (auto* c = dynamic_cast<ConvImpl*>(m.get())) {
        ++conv_layers;
        CHECK(c->int8 != nullptr);
      }
      if (auto* bn = dynamic_cast<BNImpl*>(m.get())) folded += bn->folded;
    }
    CHECK(convs == conv_layers);
    if (arch != "densenet_cifar") CHECK(folded > 0);  // DenseNet is pre-activation: BN → ReLU → conv, nothing to fold
    const auto out = net.module->forward(x);
    const double rel = ((out - ref).abs().max() / ref.abs().max()).item<double>();
    const double agree = out.argmax(1).eq(ref.argmax(1)).to(torch::kFloat64).mean().item<double>();
    CHECK(rel < 0.1);
    CHECK(agree >= 0.85);
    // Stored as float weights plus the plan; the kernels are rebuilt on load, computing the same.
    const std::string path = std::filesystem::temp_directory_path() / ("whittle-int8-" + arch + ".pt");
    save_net(net, path);
    Net back = build(arch);
    load_net(back, path);
    std::remove(path.c_str());
    CHECK(back.module->forward(x).equal(out));
  }
}
