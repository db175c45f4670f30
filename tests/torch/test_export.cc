// TorchScript and ONNX exports of the architectures: traced by LibTorch's JIT, read back (by the JIT,
// by OpenCV's DNN module), and computing the model's logits on images in [0, 1] (normalised by the
// exported graph itself).
#include <catch2/catch.hpp>

#include "lang/analyze.h"
#include "runtime/exec/executor.h"
#include "runtime/torch/compression/quant.h"
#include "runtime/torch/compression/score.h"
#include "runtime/torch/export/export.h"
#include "runtime/torch/models/archs.h"
#include "runtime/torch/training/evaluate.h"
#include "runtime/torch/training/whitening.h"

#include <sstream>

using namespace whittle::runtime::torchrt;

namespace {

/// A CIFAR ResNet-20 of `width` base channels, initialised from seed 0 and profiled.
Net resnet20(int width) {
  torch::manual_seed(0);
  Net net;
  ArchParams p;
  p.width = width;
  net.module = make_arch("resnet20", p, {3, 32, 32, 10});
  profile(*net.module, {3, 32, 32, 10});
  return net;
}

/// A data set of random images (`n` of them to test on), enough for an export's parity check.
Dataset random_images(std::int64_t n) {
  Dataset d;
  d.train_x = torch::randn({2, 3, 32, 32});
  d.test_x = torch::rand({n, 3, 32, 32});
  d.test_y = torch::randint(0, 10, {n});
  return d;
}

/// The model's ONNX file; "" (and a warning) where this build has no ONNX export.
std::string onnx_or_skip(const Net& net, const Dataset& d) {
  try {
    return onnx_bytes(net, d, false);
  } catch (const whittle::runtime::StageError& e) {
    if (std::string(e.what()).find("no ONNX export") == std::string::npos) FAIL(e.what());
    WARN("this build has no ONNX export: skipped");
    return "";
  }
}

}  // namespace

TEST_CASE("every architecture exports as TorchScript with the model's logits", "[torch][export]") {
  const std::pair<const char*, ArchParams> archs[] = {{"resnet18",
                                                       [] {
                                                         ArchParams p;
                                                         p.width = 8;
                                                         return p;
                                                       }()},
                                                      {"preact_resnet18",
                                                       [] {
                                                         ArchParams p;
                                                         p.width = 8;
                                                         return p;
                                                       }()},
                                                      {"vgg11",
                                                       [] {
                                                         ArchParams p;
                                                         p.width = 8;
                                                         return p;
                                                       }()},
                                                      {"densenet",
                                                       [] {
                                                         ArchParams p;
                                                         p.growth = 4;
                                                         p.blocks = {2, 2, 2};
                                                         return p;
                                                       }()},
                                                      {"mobilenetv2",
                                                       [] {
                                                         ArchParams p;
                                                         p.width_mult = 0.25;
                                                         return p;
                                                       }()},
                                                      {"resnet20", {}},
                                                      {"resnet9",
                                                       [] {
                                                         ArchParams p;
                                                         p.width = 8;
                                                         return p;
                                                       }()},
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

TEST_CASE("an 8-bit model exports to ONNX with its scales, its weights exact multiples of them", "[torch][export]") {
  Net net = resnet20(8);
  QuantSpec q;
  q.method = "uniform";
  q.bits = 8;
  for (auto& l : net.layers()) quantize_layer(*l.module, q);
  net.masks_changed();
  const Dataset d = random_images(32);
  const std::string onnx = onnx_or_skip(net, d);
  if (onnx.empty()) return;
  // OpenCV computes the 8-bit model's logits (its weights are the int8 grid times the scales, in float).
  const ExportParity o = onnx_parity(onnx, net, d, false);
  CHECK(o.max_logit_diff < 1e-3);
  CHECK(o.agreement == 1.0);
  // The metadata's scales of the first conv: the weights it computes with are integers times them.
  const LayerRef first = net.layers().front();
  CHECK(onnx.find(first.name + ".weight") != std::string::npos);  // the weight it computes with, by its module's name
  const std::string key = "whittle.quantization." + first.name + ".scales";
  const auto at = onnx.find(key);
  REQUIRE(at != std::string::npos);
  const auto open = onnx.find("[", at), close = onnx.find("]", at);
  INFO(onnx.substr(at, 200));
  REQUIRE(open < close);
  std::vector<float> scales;
  std::stringstream list(onnx.substr(open + 1, close - open - 1));
  for (std::string v; std::getline(list, v, ',');) scales.push_back(std::stof(v));
  const torch::Tensor w = Net::effective_weight(first);
  REQUIRE(static_cast<std::int64_t>(scales.size()) == w.size(0));
  const torch::Tensor ints = w / torch::tensor(scales).view({-1, 1, 1, 1});
  CHECK(torch::allclose(ints, ints.round(), 0, 1e-3));
  CHECK(ints.abs().max().item<double>() <= 127.0 + 1e-3);
  CHECK(ints.abs().max().item<double>() >= 126.5);  // the largest weight of a channel is at ±127
}

TEST_CASE("an ONNX export names its weights and nodes after the model's modules, and its output `logits`",
          "[torch][export]") {
  Net net = resnet20(4);
  const Dataset d = random_images(16);
  const std::string onnx = onnx_or_skip(net, d);
  if (onnx.empty()) return;
  CHECK(onnx_parity(onnx, net, d, false).max_logit_diff < 1e-3);  // OpenCV reads it and computes the logits
  // Every conv's and linear's weight by its module name; their nodes by the module; the result `logits`.
  for (const LayerRef& l : net.layers()) {
    INFO(l.name);
    CHECK(onnx.find(l.name + ".weight") != std::string::npos);
  }
  CHECK(onnx.find("logits") != std::string::npos);
  CHECK(onnx.find("relu_") != std::string::npos);
  CHECK(onnx.find("running_mean") != std::string::npos);  // the BatchNorms' statistics too
}

TEST_CASE("test-time augmentation averages the explicit views' logits, and the score counts every view's ops",
          "[torch][tta]") {
  Net net = resnet20(4);
  net.module->eval();
  const torch::Tensor x = torch::rand({5, 3, 32, 32});
  auto fwd = [&](const torch::Tensor& v) {
    torch::NoGradGuard g;
    return net.module->forward(v);
  };
  CHECK(tta_views("none") == 1);
  CHECK(tta_views("flip") == 2);
  CHECK(tta_views("flip_translate") == 6);
  CHECK(torch::allclose(predict_tta(*net.module, x, 2, torch::kCPU, "none"), fwd(x), 1e-5, 1e-6));
  const torch::Tensor flip = (fwd(x) + fwd(x.flip({3}))) / 2;
  CHECK(torch::allclose(predict_tta(*net.module, x, 2, torch::kCPU, "flip"), flip, 1e-5, 1e-6));
  // Shifted by one pixel up-left and down-right, the edge reflected into the gap (written out by hand).
  const torch::Tensor pad = torch::reflection_pad2d(x, {1, 1, 1, 1});
  const torch::Tensor a = pad.narrow(2, 0, 32).narrow(3, 0, 32), b = pad.narrow(2, 2, 32).narrow(3, 2, 32);
  CHECK(torch::equal(a.select(2, 5).select(2, 7), x.select(2, 4).select(2, 6)));  // a's pixel (5, 7) is x's (4, 6)
  const torch::Tensor six = flip / 2 + (fwd(a) + fwd(a.flip({3})) + fwd(b) + fwd(b.flip({3}))) / 8;
  CHECK(torch::allclose(predict_tta(*net.module, x, 2, torch::kCPU, "flip_translate"), six, 1e-5, 1e-6));
  // The score of the model deployed with n views: the parameter term once, the ops term n times.
  const auto one = size_and_cost(net), two = size_and_cost(net, 2), six_views = size_and_cost(net, 6);
  const ScoreReport r = score(net, {});
  CHECK(one.at("score") == Approx(r.param_term + r.ops_term));
  CHECK(two.at("score") == Approx(r.param_term + 2 * r.ops_term));
  CHECK(six_views.at("score") == Approx(r.param_term + 6 * r.ops_term));
  CHECK(six_views.at("score_course2021") > one.at("score_course2021"));
  CHECK(two.at("tta_views") == 2);
  CHECK(two.at("params") == one.at("params"));
  CHECK(two.at("macs") == one.at("macs"));  // MACs stay the model's, for one pass
}

TEST_CASE("airbench's network exports to ONNX (GELU as erf) and TorchScript with the model's logits",
          "[torch][export][airbench]") {
  auto a = whittle::lang::analyze(
      "t.recipe", "use \"std/nets.recipe\"\ndata cifar10\nmodel airbench w1: 8 w2: 16 w3: 16\nevaluate\n");
  REQUIRE(a->ok());
  torch::manual_seed(0);
  Net net = build_model(a->recipe.stages[1], {3, 32, 32, 10}, 0);
  Dataset d = random_images(16);
  d.train_x = torch::randn({64, 3, 32, 32});
  init_whitening(net, d);
  {
    torch::NoGradGuard g;  // BN statistics away from 0 and 1, so that they matter
    for (const auto& b : net.module->named_buffers())
      if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2);
  }
  const std::string onnx = onnx_or_skip(net, d);
  if (onnx.empty()) return;
  CHECK(onnx.find("Erf") != std::string::npos);
  CHECK(onnx_parity(onnx, net, d, false).max_logit_diff < 1e-3);
}
