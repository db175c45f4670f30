// TorchScript and ONNX exports of the architectures: traced by LibTorch's JIT, read back (by the JIT,
// by OpenCV's DNN module), and computing the model's logits on images in [0, 1] (normalised by the
// exported graph itself).
#include <catch2/catch.hpp>

#include "runtime/executor.h"
#include "runtime/torch/archs.h"
#include "runtime/torch/export.h"

using namespace whittle::runtime::torchrt;

TEST_CASE("every architecture exports as TorchScript with the model's logits", "[torch][export]") {
  const std::pair<const char*, ArchParams> archs[] = {
      {"resnet18", [] { ArchParams p; p.width = 8; return p; }()},
      {"preact_resnet18", [] { ArchParams p; p.width = 8; return p; }()},
      {"vgg11", [] { ArchParams p; p.width = 8; return p; }()},
      {"densenet", [] { ArchParams p; p.growth = 4; p.blocks = {2, 2, 2}; return p; }()},
      {"mobilenetv2", [] { ArchParams p; p.width_mult = 0.25; return p; }()},
      {"resnet20", {}},
      {"resnet9", [] { ArchParams p; p.width = 8; return p; }()},
      {"fastnet", {}}};
  Dataset d;
  d.train_x = torch::randn({2, 3, 32, 32});
  d.test_x = torch::randn({24, 3, 32, 32});
  d.test_y = torch::randint(0, 10, {24});
  d.mean = {0.49, 0.48, 0.45};
  d.std = {0.25, 0.24, 0.26};
  for (const auto& [arch, p] : archs) {
    INFO(arch);
    torch::manual_seed(0);
    Net net;
    net.module = make_arch(arch, p, {3, 32, 32, 10});
    profile(*net.module, {3, 32, 32, 10});
    net.module->train();
    {  // BN statistics that are not the identity
      torch::NoGradGuard g;
      net.module->forward(torch::randn({8, 3, 32, 32}));
    }
    const std::string bytes = torchscript_bytes(net, d, true);
    const ExportParity parity = torchscript_parity(bytes, net, d, true);
    CHECK(parity.max_logit_diff < 1e-4);
    CHECK(parity.agreement == 1.0);
    CHECK(net.module->is_training());  // exporting leaves the model as it was
    // ONNX (when this build has it): passes onnx's checker inside onnx_bytes, and OpenCV's DNN
    // module computes the same predictions.
    std::string onnx;
    try {
      onnx = onnx_bytes(net, d, true);
    } catch (const whittle::runtime::StageError& e) {
      if (std::string(e.what()).find("no ONNX export") == std::string::npos) FAIL(e.what());
      WARN("this build has no ONNX export: the ONNX half is skipped");
      continue;
    }
    const ExportParity o = onnx_parity(onnx, net, d, true);
    CHECK(o.max_logit_diff < 1e-3);
    CHECK(o.agreement == 1.0);
  }
}
