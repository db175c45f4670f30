// Networks written in the recipe, built: the zoo written as networks has the zoo's counts and (with
// the same weights) the same logits; the checker's counts are what profiling measures; structured
// pruning finds the channels that can go, and masked and physical pruning compute the same function.
#include <catch2/catch.hpp>

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>

#include "lang/analyze.h"
#include "runtime/torch/archs.h"
#include "runtime/torch/network.h"
#include "runtime/torch/prune.h"
#include "tests/torch/structured.h"

using namespace whittle;
using namespace whittle::runtime::torchrt;

namespace {

/// CIFAR ResNet18 (kuangliu) in the language, from std/nets.recipe's BasicBlock.
const char* kResNet18 = R"(use "std/nets.recipe"
network my_resnet18(w: int = 64) {
  conv $w channels -> bn -> relu
  basic_block(channels: $w) -> basic_block(channels: $w)
  basic_block(channels: 2 * $w, stride: 2) -> basic_block(channels: 2 * $w)
  basic_block(channels: 4 * $w, stride: 2) -> basic_block(channels: 4 * $w)
  basic_block(channels: 8 * $w, stride: 2) -> basic_block(channels: 8 * $w)
  avgpool kernel: 4 -> linear
}
)";

/// kuangliu's densenet_cifar: growth 12, blocks [6, 12, 24, 16], compression 0.5.
const char* kDenseNet = R"(use "std/nets.recipe"
network my_densenet(k: int = 12) {
  conv 2 * $k channels
  dense 6 { dense_bottleneck(growth: $k) }
  transition()
  dense 12 { dense_bottleneck(growth: $k) }
  transition()
  dense 24 { dense_bottleneck(growth: $k) }
  transition()
  dense 16 { dense_bottleneck(growth: $k) }
  bn -> relu -> avgpool global -> linear
}
)";

/// A MobileNetV2-like net: depthwise convs carry the expanded channels through.
const char* kMobile = R"(use "std/nets.recipe"
network my_mobile {
  conv 16 channels -> bn -> relu
  inverted_residual(channels: 16, expand: 200%)
  inverted_residual_down(channels: 24, expand: 300%)
  inverted_residual(channels: 32)
  avgpool global -> linear
}
)";

/// A plain CNN whose last conv feeds the linear head through a 7×7 map.
const char* kPlain = R"(network my_plain {
  conv 8 channels -> bn -> relu -> maxpool
  conv 16 channels -> relu -> maxpool -> dropout 10%
  linear 32 outputs -> relu
  linear
}
)";

struct Built {
  std::unique_ptr<lang::Analysis> analysis;
  const lang::StageInstance* model = nullptr;
  Shape shape{3, 32, 32, 10};
};

Built check(const std::string& networks, const std::string& model_line, const std::string& data = "cifar10") {
  Built b;
  b.analysis = lang::analyze("t.recipe", networks + "data " + data + "\n" + model_line + "\nevaluate\n");
  for (const auto& d : b.analysis->diags.all()) INFO(d.message);
  REQUIRE_FALSE(b.analysis->diags.has_errors());
  for (const auto& s : b.analysis->recipe.stages)
    if (s.network) b.model = &s;
  REQUIRE(b.model);
  if (data == "fashion_mnist") b.shape = {1, 28, 28, 10};
  return b;
}

Net build_net(const Built& b) {
  torch::manual_seed(0);
  Net net = build_model(*b.model, b.shape, 0);
  return net;
}

std::int64_t params(const NetImpl& n) {
  std::int64_t total = 0;
  for (const auto& p : n.parameters()) total += p.numel();
  return total;
}

std::shared_ptr<NetImpl> builtin(const std::string& arch) {
  torch::manual_seed(0);
  const Shape s{3, 32, 32, 10};
  auto net = make_arch(arch, {}, s);
  profile(*net, s);
  return net;
}

/// Copies every parameter and buffer of `from` into `to`, in registration order.
void copy_in_order(NetImpl& from, NetImpl& to) {
  torch::NoGradGuard g;
  auto fp = from.parameters(), tp = to.parameters();
  REQUIRE(fp.size() == tp.size());
  for (std::size_t i = 0; i < fp.size(); ++i) {
    REQUIRE(fp[i].sizes() == tp[i].sizes());
    tp[i].copy_(fp[i]);
  }
  auto fb = from.buffers(), tb = to.buffers();
  REQUIRE(fb.size() == tb.size());
  for (std::size_t i = 0; i < fb.size(); ++i) tb[i].copy_(fb[i]);
}

}  // namespace

TEST_CASE("the zoo written as networks: the same counts, and the same logits from the same weights", "[torch][network]") {
  for (const auto& [text, model, arch] : {std::tuple{kResNet18, "model my_resnet18", "resnet18"},
                                          std::tuple{kDenseNet, "model my_densenet", "densenet_cifar"}}) {
    INFO(arch);
    const Built b = check(text, model);
    Net net = build_net(b);
    auto zoo = builtin(arch);
    CHECK(params(*net.module) == params(*zoo));
    CHECK(net.module->macs() == zoo->macs());
    // The checker counts what profiling measures.
    CHECK(b.model->network->root.params == params(*net.module));
    CHECK(b.model->network->root.macs == net.module->macs());
    copy_in_order(*zoo, *net.module);
    zoo->eval();
    net.module->eval();
    torch::NoGradGuard g;
    const auto x = torch::randn({2, 3, 32, 32});
    CHECK(torch::allclose(zoo->forward(x), net.module->forward(x), 1e-4, 1e-5));
  }
  // Module names as the elaborated network gives them: the state dict a PyTorch user maps.
  const Built r = check(kResNet18, "model my_resnet18 w: 16");
  Net net = build_net(r);
  const auto named = net.module->named_parameters();
  CHECK(named.contains("0.weight"));
  CHECK(named.contains("3.0.body.0.weight"));
  CHECK(named.contains("5.0.shortcut.0.weight"));
  CHECK(named.contains("12.bias"));
}

TEST_CASE("structured pruning of networks: masked and physical compute the same function", "[torch][network][prune]") {
  const std::tuple<const char*, const char*, const char*, std::size_t> nets[] = {
      {kResNet18, "model my_resnet18 w: 8", "cifar10", 8},
      {kDenseNet, "model my_densenet k: 4", "cifar10", 58},
      {kMobile, "model my_mobile", "cifar10", 3},
      {kPlain, "model my_plain", "fashion_mnist", 3}};
  for (const auto& [text, model, data, groups] : nets) {
    INFO(model);
    const Built b = check(text, model, data);
    CHECK(build_net(b).module->channel_groups.size() == groups);
    whittle::test::check_masked_equals_physical([&] { return build_net(b); }, b.shape);
  }
}
