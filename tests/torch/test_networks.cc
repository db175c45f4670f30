// Networks written in the recipe, built: the zoo written as networks has the zoo's counts and (with
// the same weights) the same logits; the checker's counts are what profiling measures; structured
// pruning finds the channels that can go, and masked and physical pruning compute the same function.
#include <catch2/catch.hpp>

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>

#include "lang/analyze.h"
#include "runtime/torch/compression/prune.h"
#include "runtime/torch/models/archs.h"
#include "runtime/torch/models/layers.h"
#include "runtime/torch/models/network.h"
#include "runtime/torch/training/whitening.h"
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

TEST_CASE("the zoo written as networks: the same counts, and the same logits from the same weights",
          "[torch][network]") {
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

TEST_CASE("airbench's layers: whitening from the patch covariance, dirac convs, fixed-scale BN, GELU, a scaled head",
          "[torch][network][airbench]") {
  const Built b = check("use \"std/nets.recipe\"\n", "model airbench w1: 8 w2: 16 w3: 16");
  Net net = build_net(b);
  // The checker's counts are what profiling measures (whiten 3→24 on 2x2 patches: 31×31 out).
  CHECK(net.module->macs() == b.model->network->root.macs);
  CHECK(params(*net.module) == b.model->network->root.params);

  SECTION("the whitening filters whiten, largest eigenvalue first, checked against power iteration") {
    torch::manual_seed(3);
    // Correlated channels, so that the covariance is far from the identity.
    auto base = torch::randn({64, 1, 8, 8});
    auto images = torch::cat({base, base * 0.5 + 0.1 * torch::randn({64, 1, 8, 8}), torch::randn({64, 1, 8, 8})}, 1);
    const auto cov = patch_covariance(images, 2);
    // The covariance, written out patch by patch.
    auto naive = torch::zeros({12, 12}, torch::kFloat64);
    std::int64_t n = 0;
    for (std::int64_t i = 0; i < 64; ++i)
      for (int y = 0; y < 7; ++y)
        for (int x = 0; x < 7; ++x, ++n) {
          const auto v = images[i].slice(1, y, y + 2).slice(2, x, x + 2).reshape({12}).to(torch::kFloat64);
          naive += torch::outer(v, v);
        }
    CHECK(torch::allclose(cov, naive / static_cast<double>(n), 1e-9, 1e-12));
    const double eps = 1e-9;
    const auto w = whitening_filters(cov, 3, 2, eps);
    REQUIRE(w.sizes() == torch::IntArrayRef({24, 3, 2, 2}));
    const auto f = w.slice(0, 0, 12).reshape({12, 12}).to(torch::kFloat64);
    CHECK(torch::allclose(w.slice(0, 12, 24), -w.slice(0, 0, 12)));
    // Whitened: the filters' outputs have unit variance and no correlation.
    CHECK(torch::allclose(f.mm(cov).mm(f.t()), torch::eye(12, torch::kFloat64), 1e-4, 1e-4));
    // The first filter is the top eigenvector (by power iteration, no LAPACK) over √λ.
    auto v = torch::ones({12}, torch::kFloat64);
    for (int it = 0; it < 500; ++it) v = cov.mv(v), v = v / v.norm();
    const double lambda = v.dot(cov.mv(v)).item<double>();
    const auto first = f[0] * std::sqrt(lambda + eps);
    CHECK(std::abs(first.dot(v).item<double>()) == Approx(1).epsilon(1e-4));
  }
  SECTION(
      "init_whitening fills the layer from the first training images; the model stage's weight is frozen, its bias is "
      "not") {
    Dataset d;
    torch::manual_seed(1);
    d.train_x = torch::randn({40, 3, 32, 32});
    CHECK(init_whitening(net, d) == 1);
    auto* wl = dynamic_cast<WhitenImpl*>(net.module->named_modules()["0"].get());
    REQUIRE(wl);
    CHECK(torch::allclose(wl->weight, whitening_filters(patch_covariance(d.train_x, 2), 3, 2, 5e-4)));
    CHECK_FALSE(wl->weight.requires_grad());
    CHECK(wl->bias.requires_grad());
  }
  SECTION(
      "dirac convs start as the identity; BN's scale is fixed at 1 with airbench's momentum; the head is scaled by "
      "1/9") {
    auto mods = net.module->named_modules();
    auto* conv = dynamic_cast<ConvImpl*>(mods["2"].get());  // 24 → 8 channels: 8 identity filters
    REQUIRE(conv);
    auto x = torch::randn({2, 24, 5, 5});
    CHECK(torch::allclose(conv->forward(x), x.slice(1, 0, 8), 1e-6, 1e-6));
    auto* bn = dynamic_cast<BNImpl*>(mods["4"].get());
    REQUIRE(bn);
    CHECK(bn->momentum == Approx(0.4));
    CHECK(bn->eps == Approx(1e-12));
    CHECK_FALSE(bn->weight.requires_grad());
    CHECK(bn->bias.requires_grad());
    auto* head = dynamic_cast<LinearImpl*>(mods["24"].get());
    REQUIRE(head);
    auto h = torch::randn({2, 16});
    CHECK(torch::allclose(head->forward(h), torch::nn::functional::linear(h, head->weight) / 9, 1e-6, 1e-6));
    CHECK(dynamic_cast<GELUImpl*>(mods["1"].get()));
  }
}
