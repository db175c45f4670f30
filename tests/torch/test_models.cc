// Every architecture against its published parameter count (kuangliu/pytorch-cifar, akamaster,
// Myrtle.ai), and MACs measured by the profiled forward pass against independent formulas.
#include <catch2/catch.hpp>

#include "runtime/exec/executor.h"
#include "runtime/plan/architectures.h"
#include "runtime/torch/models/archs.h"

using namespace whittle::runtime;
using namespace whittle::runtime::torchrt;

namespace {

std::shared_ptr<NetImpl> build(const std::string& arch, ArchParams p = {}, Shape s = {3, 32, 32, 10}) {
  torch::manual_seed(0);
  auto net = make_arch(arch, p, s);
  profile(*net, s);
  return net;
}

std::int64_t params(const NetImpl& n) {
  std::int64_t total = 0;
  for (const auto& p : n.parameters()) total += p.numel();
  return total;
}

}  // namespace

TEST_CASE("architectures have their published parameter counts", "[torch][models]") {
  const std::pair<const char*, std::int64_t> known[] = {
      {"resnet18", 11173962}, {"resnet34", 21282122},   {"preact_resnet18", 11171146}, {"vgg11", 9231114},
      {"vgg13", 9416010},     {"vgg16", 14728266},      {"vgg19", 20040522},           {"densenet_cifar", 1000618},
      {"mobilenet", 3217226}, {"mobilenetv2", 2296922}, {"resnet20", 269722},          {"resnet56", 853018},
      {"resnet9", 6573120}};
  for (const auto& [arch, count] : known) {
    INFO(arch);
    CHECK(params(*build(arch)) == count);
  }
  ArchParams densenet121;  // kuangliu's DenseNet121: growth 32, blocks [6, 12, 24, 16]
  densenet121.growth = 32;
  CHECK(params(*build("densenet", densenet121)) == 6956298);
  CHECK(params(*build("lenet5", {}, {1, 28, 28, 10})) == 61706);
  // A DenseNet with its fourth block left out (a course report's change) builds and runs; a block
  // of 0 layers is refused by the checker (E0203 on `blocks`).
  ArchParams three;
  three.growth = 8;
  three.blocks = {6, 10, 20};
  auto net = build("densenet", three);
  CHECK(params(*net) < params(*build("densenet", [] {
          ArchParams p;
          p.growth = 8;
          return p;
        }())));
  CHECK(net->forward(torch::rand({2, 3, 32, 32})).sizes() == std::vector<std::int64_t>{2, 10});
}

TEST_CASE("whittle doc's architecture table has the built models' counts, and only their knobs", "[torch][models]") {
  for (const auto& a : architectures()) {
    INFO(a.name);
    const auto net = build(a.name);
    CHECK(params(*net) == a.cifar_params);
    CHECK(net->macs() == a.cifar_macs);
  }
  CHECK(knob_applies("densenet", "blocks"));
  CHECK_FALSE(knob_applies("resnet18", "blocks"));
  CHECK_FALSE(knob_applies("lenet5", "width"));
  CHECK(knob_applies("lenet5", "classes"));
}

TEST_CASE("MACs are measured from the forward pass", "[torch][models]") {
  CHECK(build("resnet18")->macs() == 555422720);  // docs/course.md's calibration
  // ResNet-20: a 3x3 stem, then 6 convs per stage at 32, 16, 8 pixels and 16, 32, 64 channels.
  const std::int64_t r20 = 32 * 32 * 16 * 3 * 9 + 6 * 32 * 32 * 16 * 16 * 9 + 16 * 16 * 32 * 16 * 9 +
                           5 * 16 * 16 * 32 * 32 * 9 + 8 * 8 * 64 * 32 * 9 + 5 * 8 * 8 * 64 * 64 * 9 + 64 * 10;
  CHECK(build("resnet20")->macs() == r20);
  // VGG16: every 3x3 conv at its resolution, then 512 -> 10.
  std::int64_t vgg = 0, in = 3, side = 32;
  for (int c : {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0}) {
    if (c == 0) {
      side /= 2;
      continue;
    }
    vgg += side * side * c * in * 9;
    in = c;
  }
  CHECK(build("vgg16")->macs() == vgg + 512 * 10);
  // Per layer, named as in the state dict.
  auto net = build("resnet18");
  CHECK(net->layer_macs.at("conv1") == 32 * 32 * 64 * 3 * 9);
  CHECK(net->layer_macs.at("layer2.0.shortcut.0") == 16 * 16 * 128 * 64);
  CHECK(net->layer_macs.at("linear") == 512 * 10);
}

TEST_CASE("groups divide the 3x3 convolutions' cost, and bad groups are refused", "[torch][models]") {
  ArchParams g4;
  g4.groups = 4;
  auto plain = build("resnet20"), grouped = build("resnet20", g4);
  const auto conv3 = [](const NetImpl& n) {
    std::int64_t m = 0;
    for (const auto& [name, macs] : n.layer_macs)
      if (name != "conv1" && name != "linear") m += macs;
    return m;
  };
  CHECK(conv3(*grouped) * 4 == conv3(*plain));
  CHECK(grouped->layer_macs.at("conv1") == plain->layer_macs.at("conv1"));  // the stem sees 3 channels
  ArchParams g3;
  g3.groups = 3;
  CHECK_THROWS_AS(build("resnet18", g3), StageError);
}

TEST_CASE("every architecture runs forward and backward on its input", "[torch][models]") {
  for (const auto& a : architectures()) {
    const std::string arch = a.name;
    INFO(arch);
    const bool grey = arch == "lenet5" || arch == "small_cnn";
    const Shape s = grey ? Shape{1, 28, 28, 10} : Shape{3, 32, 32, 10};
    ArchParams p;
    if (arch == "densenet") p.blocks = {2, 2, 2, 2};
    auto net = build(arch, p, s);
    CHECK(net->macs() > 0);
    auto out = net->forward(torch::randn({2, s.channels, s.height, s.width}));
    CHECK(out.sizes() == torch::IntArrayRef({2, 10}));
    out.sum().backward();
  }
  // A CIFAR architecture on 28x28 input that pools below one pixel is a clear error.
  CHECK_THROWS_AS(build("vgg16", {}, {1, 28, 28, 10}), StageError);
  ArchParams half;
  half.width = 32;
  CHECK(params(*build("resnet18", half)) < params(*build("resnet18")) / 3);
  ArchParams slim;
  slim.width_mult = 0.5;
  CHECK(params(*build("mobilenetv2", slim)) < params(*build("mobilenetv2")));
}
