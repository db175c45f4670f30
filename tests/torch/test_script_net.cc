// A module scripted in PyTorch as a whittle net (runtime/torch/models/script_net.h), on the fixture
// tests/fixtures/student_net_1ch.pt (tests/fixtures/README.md says what it is and how it was made).
#include <catch2/catch.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/script.h>

#include <filesystem>

#include "runtime/exec/executor.h"
#include "runtime/torch/compression/model_file.h"
#include "runtime/torch/compression/prune.h"
#include "runtime/torch/compression/quant.h"
#include "runtime/torch/models/layers.h"
#include "runtime/torch/models/script_net.h"

using namespace whittle::runtime;
using namespace whittle::runtime::torchrt;

namespace {

const std::string kFixture = std::string(WHITTLE_SOURCE_DIR) + "/tests/fixtures/student_net_1ch.pt";
const Shape kShape{1, 28, 28, 10};

Net scripted() {
  Net net;
  net.module = load_script_net(kFixture, kShape);
  profile(*net.module, kShape);
  return net;
}

torch::Tensor param(Net& net, const std::string& name) { return net.module->named_parameters()[name]; }

torch::Tensor logits(Net& net, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  net.module->eval();
  return net.module->forward(x);
}

}  // namespace

TEST_CASE("a scripted module's tensors keep PyTorch's names, and its costs are measured", "[script]") {
  Net net = scripted();
  // The names of PyTorch's state_dict, in its order.
  std::vector<std::string> names;
  for (const auto& p : net.module->named_parameters()) names.push_back(p.key());
  CHECK(names == std::vector<std::string>{"stem.0.weight", "stem.1.weight", "stem.1.bias", "block.conv1.weight",
                                          "block.bn1.weight", "block.bn1.bias", "block.conv2.weight",
                                          "block.bn2.weight", "block.bn2.bias", "down.weight", "bn.weight", "bn.bias",
                                          "hidden.weight", "hidden.bias", "head.weight", "head.bias"});
  CHECK(net.module->named_buffers().contains("block.bn1.running_mean"));
  std::vector<std::string> layers;
  for (const auto& l : net.layers()) layers.push_back(l.name);
  CHECK(layers == std::vector<std::string>{"stem.0", "block.conv1", "block.conv2", "down", "hidden", "head"});
  // MACs per image, k_h*k_w*C_in per output element: 28*28*8*9, twice 28*28*8*72, 7*7*16*72, 16*32, 32*10.
  CHECK(net.module->layer_macs.at("stem.0") == 28 * 28 * 8 * 9);
  CHECK(net.module->layer_macs.at("block.conv2") == 28 * 28 * 8 * 72);
  CHECK(net.module->layer_macs.at("down") == 7 * 7 * 16 * 72);
  CHECK(net.module->layer_macs.at("head") == 320);
  CHECK(net.module->macs() == 28 * 28 * 8 * 9 + 2 * 28 * 28 * 8 * 72 + 7 * 7 * 16 * 72 + 16 * 32 + 32 * 10);
  CHECK(count_params(net) == 72 + 2 * 576 + 1152 + 512 + 32 + 320 + 10 + 2 * (8 + 8 + 8 + 16));
}

TEST_CASE("the scripted forward reads the very tensors whittle trains, masks and saves", "[script]") {
  Net net = scripted();
  const torch::Tensor x = torch::randn({4, 1, 28, 28});
  const torch::Tensor before = logits(net, x);
  // The same file, run by LibTorch alone, computes the same logits.
  auto alone = torch::jit::load(kFixture);
  alone.eval();
  CHECK(torch::allclose(alone.forward({x}).toTensor(), before, 1e-5, 1e-6));
  // A training step reaches the scripted layers' parameters (whittle's optimizer steps them).
  net.module->train();
  torch::optim::SGD opt(net.module->parameters(), 0.1);
  const torch::Tensor w0 = param(net, "block.conv1.weight").detach().clone();
  net.module->forward(x).pow(2).sum().backward();
  opt.step();
  CHECK_FALSE(torch::equal(w0, param(net, "block.conv1.weight")));
  // A mask applied to whittle's tensor changes what the script computes.
  net.masks["head.weight"] = torch::zeros_like(param(net, "head.weight"));
  net.masks_changed();
  net.apply_masks();
  {
    torch::NoGradGuard no_grad;
    param(net, "head.bias").fill_(0.5);
  }
  CHECK(torch::allclose(logits(net, x), torch::full({4, 10}, 0.5)));
  // A checkpoint of it loads back into a fresh load of the file.
  const auto dir = std::filesystem::temp_directory_path() / "whittle_script_net_test";
  std::filesystem::create_directories(dir);
  save_net(net, (dir / "model.safetensors").string());
  Net back = scripted();
  load_net(back, (dir / "model.safetensors").string());
  CHECK(torch::allclose(logits(back, x), logits(net, x)));
  CHECK(back.masks.count("head.weight"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a quantized layer of a scripted module computes with its quantizer's weight, trained through it",
          "[script]") {
  Net net = scripted();
  QuantSpec q;
  q.method = "uniform";
  q.bits = 2;
  for (auto& l : net.layers()) quantize_layer(*l.module, q);
  net.masks_changed();
  const torch::Tensor x = torch::randn({3, 1, 28, 28});
  const torch::Tensor quantized = logits(net, x);
  // The same module with the effective weights written in, no quantizer: the same logits.
  Net plain = scripted();
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : plain.module->named_parameters()) p.value().copy_(net.module->named_parameters()[p.key()]);
    for (const auto& b : plain.module->named_buffers()) b.value().copy_(net.module->named_buffers()[b.key()]);
    for (auto& l : net.layers()) param(plain, l.name + ".weight").copy_(Net::effective_weight(l));
  }
  CHECK(torch::allclose(logits(plain, x), quantized, 1e-4, 1e-5));
  Net fresh = scripted();
  CHECK_FALSE(torch::allclose(logits(plain, x), logits(fresh, x), 1e-2, 1e-3));
  // After the pass, the scripted layer reads the stored (latent) weight again, and its gradient arrives there.
  net.module->train();
  net.module->forward(x).sum().backward();
  CHECK(param(net, "down.weight").grad().defined());
  CHECK(param(net, "down.weight").grad().abs().sum().item<double>() > 0);
}

TEST_CASE("structured pruning of a scripted module removes the channels its graph frees", "[script]") {
  Net net = scripted();
  const auto& groups = net.module->channel_groups;
  std::vector<std::string> producers;
  for (const auto& g : groups) producers.push_back(g.producer);
  // stem.0 feeds the residual addition and block.conv2 ends in it: neither can lose channels alone.
  CHECK(producers == std::vector<std::string>{"block.conv1", "down", "hidden"});
  CHECK(groups[0].norms == std::vector<std::string>{"block.bn1"});
  CHECK(groups[0].consumers == std::vector<std::string>{"block.conv2"});
  CHECK(groups[1].consumers == std::vector<std::string>{"hidden"});
  CHECK(groups[1].spatial == 1);  // after the global average pool
  // Masked filters are dead channels: the consumers' inputs from them no longer matter.
  PruneSpec spec;
  spec.amount = 0.5;
  spec.structured = true;
  at::Generator gen = at::detail::createCPUGenerator(1);
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : net.module->named_parameters())
      if (p.key().find("bn") != std::string::npos) p.value().uniform_(0.5, 1.5);  // BN biases that would leak
  }
  prune(net, spec, gen);
  const torch::Tensor x = torch::randn({2, 1, 28, 28});
  const torch::Tensor pruned = logits(net, x);
  const torch::Tensor dead = param(net, "block.conv1.weight").flatten(1).abs().sum(1).eq(0);
  CHECK(dead.sum().item<int>() == 4);
  {
    torch::NoGradGuard no_grad;
    param(net, "block.conv2.weight").index_put_({torch::indexing::Slice(), dead}, 100.0);
  }
  CHECK(torch::allclose(logits(net, x), pruned, 1e-4, 1e-5));
}

TEST_CASE("a scripted module that does not fit is refused with what to do", "[script]") {
  CHECK_THROWS_WITH(load_script_net(kFixture, Shape{3, 32, 32, 10}), Catch::Contains("cannot take 3x32x32 images"));
  CHECK_THROWS_WITH(load_script_net(kFixture, Shape{1, 28, 28, 100}),
                    Catch::Contains("where whittle needs [1, 100] logits"));
  CHECK_THROWS_WITH(load_script_net(std::string(WHITTLE_SOURCE_DIR) + "/tests/fixtures/state_dict.pt", kShape),
                    Catch::Contains("LibTorch cannot load the scripted module"));
}
