// The residual architectures: ResNet18/34 and PreActResNet18 (kuangliu/pytorch-cifar), ResNet-20/56
// (akamaster/pytorch_resnet_cifar10: option-A shortcuts, Kaiming-normal init), ResNet-9 (Myrtle.ai's
// DAWNBench network) and fastnet (ours, airbench-style).
#include <torch/torch.h>

#include "runtime/torch/models/arch_parts.h"

namespace whittle::runtime::torchrt::parts {
namespace {

// ---------------------------------------------------------------------------------------------
// ResNet18/34 (BasicBlock, 3x3 stem, no max-pool, 1x1 conv + BN projection shortcut).

struct BasicBlockImpl : nn::Module {
  static constexpr const char* kMidNorm = "bn1";  ///< the BN between conv1 and conv2
  Conv conv1{nullptr}, conv2{nullptr};
  BN bn1{nullptr}, bn2{nullptr};
  FunctionalReLU relu1{nullptr};  ///< kuangliu's F.relu between the convs, visible to `convert`
  nn::Sequential shortcut;
  BasicBlockImpl(std::int64_t in, std::int64_t planes, std::int64_t stride, const Groups& g) {
    conv1 = register_module("conv1", conv3(in, planes, stride, g(in, planes)));
    bn1 = register_module("bn1", bn(planes));
    relu1 = register_module("relu1", FunctionalReLU());
    conv2 = register_module("conv2", conv3(planes, planes, 1, g(planes, planes)));
    bn2 = register_module("bn2", bn(planes));
    if (stride != 1 || in != planes) {
      shortcut->push_back(conv(in, planes, 1, stride));
      shortcut->push_back(bn(planes));
    }
    register_module("shortcut", shortcut);
  }
  T forward(T x) {
    auto out = bn2(conv2(relu1(bn1(conv1(x)))));
    return torch::relu(out + (shortcut->is_empty() ? x : shortcut->forward(x)));
  }
};
TORCH_MODULE(BasicBlock);

/// The channels a residual block can lose: those between its first and second conv.
ChannelGroup inner_group(const std::string& p, const char* norm = "bn1") {
  return {p + "conv1", {p + norm}, {}, {p + "conv2"}};
}

/// The stages `layer1`, `layer2`, ... of residual blocks at widths w, 2w, 4w, ...; the first block of
/// every stage but the first halves the resolution. Returns the channels coming out.
template <typename Block>
std::int64_t residual_stages(NetImpl& m, std::vector<nn::Sequential>& layers, std::int64_t w,
                             const std::vector<int>& blocks, const Groups& g) {
  std::int64_t in = w;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    nn::Sequential layer;
    const std::int64_t planes = w << i;
    for (int b = 0; b < blocks[i]; ++b) {
      layer->push_back(Block(in, planes, (i > 0 && b == 0) ? 2 : 1, g));
      m.channel_groups.push_back(inner_group(fmt::format("layer{}.{}.", i + 1, b), Block::ContainedType::kMidNorm));
      in = planes;
    }
    layers.push_back(m.register_module(fmt::format("layer{}", i + 1), layer));
  }
  return in;
}

/// A ResNet: 3x3 conv-BN-ReLU stem (no max-pool), residual stages, global average pool, linear.
/// With BasicBlock: ResNet18/34 (kuangliu); with CifarBlock: ResNet-20/56 (akamaster).
template <typename Block>
struct ResNetImpl : NetImpl {
  Conv conv1{nullptr};
  BN bn1{nullptr};
  std::vector<nn::Sequential> layers;
  Linear linear{nullptr};
  ResNetImpl(const Shape& s, const std::vector<int>& blocks, std::int64_t w, const Groups& g) {
    conv1 = register_module("conv1", conv3(s.channels, w, 1, 1));
    bn1 = register_module("bn1", bn(w));
    linear = register_module("linear", Linear(residual_stages<Block>(*this, layers, w, blocks, g), s.classes));
  }
  T forward(T x) override {
    x = torch::relu(bn1(conv1(x)));
    for (auto& l : layers) x = l->forward(x);
    return linear(torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
  }
};

/// akamaster's initialisation: Kaiming-normal conv and linear weights.
std::shared_ptr<NetImpl> kaiming_normal(std::shared_ptr<NetImpl> net) {
  for (auto& m : net->modules(false)) {
    if (auto* c = dynamic_cast<ConvImpl*>(m.get())) torch::nn::init::kaiming_normal_(c->weight);
    if (auto* l = dynamic_cast<LinearImpl*>(m.get())) torch::nn::init::kaiming_normal_(l->weight);
  }
  return net;
}

// PreActResNet18: BN-ReLU before each conv, a 1x1 conv shortcut without BN.
struct PreActBlockImpl : nn::Module {
  static constexpr const char* kMidNorm = "bn2";
  BN bn1{nullptr}, bn2{nullptr};
  Conv conv1{nullptr}, conv2{nullptr};
  nn::Sequential shortcut;
  PreActBlockImpl(std::int64_t in, std::int64_t planes, std::int64_t stride, const Groups& g) {
    bn1 = register_module("bn1", bn(in));
    conv1 = register_module("conv1", conv3(in, planes, stride, g(in, planes)));
    bn2 = register_module("bn2", bn(planes));
    conv2 = register_module("conv2", conv3(planes, planes, 1, g(planes, planes)));
    if (stride != 1 || in != planes) shortcut->push_back(conv(in, planes, 1, stride));
    register_module("shortcut", shortcut);
  }
  T forward(T x) {
    auto out = torch::relu(bn1(x));
    auto sc = shortcut->is_empty() ? x : shortcut->forward(out);
    out = conv1(out);
    out = conv2(torch::relu(bn2(out)));
    return out + sc;
  }
};
TORCH_MODULE(PreActBlock);

struct PreActResNetImpl : NetImpl {
  Conv conv1{nullptr};
  std::vector<nn::Sequential> layers;
  Linear linear{nullptr};
  PreActResNetImpl(const Shape& s, std::int64_t w, const Groups& g) {
    conv1 = register_module("conv1", conv3(s.channels, w, 1, 1));
    linear =
        register_module("linear", Linear(residual_stages<PreActBlock>(*this, layers, w, {2, 2, 2, 2}, g), s.classes));
  }
  T forward(T x) override {
    x = conv1(x);
    for (auto& l : layers) x = l->forward(x);
    return linear(torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
  }
};

// ---------------------------------------------------------------------------------------------
// ResNet-20/56 for CIFAR (He et al. 2016, option A: the shortcut subsamples and zero-pads channels).

struct CifarBlockImpl : nn::Module {
  static constexpr const char* kMidNorm = "bn1";
  Conv conv1{nullptr}, conv2{nullptr};
  BN bn1{nullptr}, bn2{nullptr};
  FunctionalReLU relu1{nullptr};
  std::int64_t pad = -1;  ///< channels of zero padding on each side of the shortcut; -1: identity
  CifarBlockImpl(std::int64_t in, std::int64_t planes, std::int64_t stride, const Groups& g) {
    conv1 = register_module("conv1", conv3(in, planes, stride, g(in, planes)));
    bn1 = register_module("bn1", bn(planes));
    relu1 = register_module("relu1", FunctionalReLU());
    conv2 = register_module("conv2", conv3(planes, planes, 1, g(planes, planes)));
    bn2 = register_module("bn2", bn(planes));
    if (stride != 1 || in != planes) pad = planes / 4;
  }
  T forward(T x) {
    auto out = bn2(conv2(relu1(bn1(conv1(x)))));
    auto sc = x;
    if (pad >= 0) {
      using torch::indexing::Slice;
      sc = torch::constant_pad_nd(
          x.index({Slice(), Slice(), Slice(0, torch::indexing::None, 2), Slice(0, torch::indexing::None, 2)}),
          {0, 0, 0, 0, pad, pad}, 0);
    }
    return torch::relu(out + sc);
  }
};
TORCH_MODULE(CifarBlock);

// ---------------------------------------------------------------------------------------------
// ResNet-9 (DAWNBench, Myrtle.ai) and fastnet (airbench-style): conv-BN-ReLU units.

struct ConvBnImpl : nn::Module {
  Conv conv_{nullptr};
  BN bn_{nullptr};
  bool pool;
  ConvBnImpl(std::int64_t in, std::int64_t out, std::int64_t groups, bool pool_ = false) : pool(pool_) {
    conv_ = register_module("conv", conv3(in, out, 1, groups));
    bn_ = register_module("bn", bn(out));
  }
  T forward(T x) {
    x = conv_(x);
    if (pool) x = torch::max_pool2d(x, 2);
    return torch::relu(bn_(x));
  }
};
TORCH_MODULE(ConvBn);

struct ResNet9Impl : NetImpl {
  ConvBn prep{nullptr}, layer1{nullptr}, res1a{nullptr}, res1b{nullptr}, layer2{nullptr}, layer3{nullptr},
      res3a{nullptr}, res3b{nullptr};
  Linear linear{nullptr};
  ResNet9Impl(const Shape& s, std::int64_t w, const Groups& g) {
    prep = register_module("prep", ConvBn(s.channels, w, 1));
    layer1 = register_module("layer1", ConvBn(w, 2 * w, g(w, 2 * w), true));
    res1a = register_module("res1a", ConvBn(2 * w, 2 * w, g(2 * w, 2 * w)));
    res1b = register_module("res1b", ConvBn(2 * w, 2 * w, g(2 * w, 2 * w)));
    layer2 = register_module("layer2", ConvBn(2 * w, 4 * w, g(2 * w, 4 * w), true));
    layer3 = register_module("layer3", ConvBn(4 * w, 8 * w, g(4 * w, 8 * w), true));
    res3a = register_module("res3a", ConvBn(8 * w, 8 * w, g(8 * w, 8 * w)));
    res3b = register_module("res3b", ConvBn(8 * w, 8 * w, g(8 * w, 8 * w)));
    linear = register_module("linear", Linear(nn::LinearOptions(8 * w, s.classes).bias(false)));
    channel_groups = {{"res1a.conv", {"res1a.bn"}, {}, {"res1b.conv"}},
                      {"res3a.conv", {"res3a.bn"}, {}, {"res3b.conv"}}};
  }
  T forward(T x) override {
    x = layer1(prep(x));
    x = x + res1b(res1a(x));
    x = layer3(layer2(x));
    x = x + res3b(res3a(x));
    return linear(std::get<0>(torch::adaptive_max_pool2d(x, {1, 1})).flatten(1)) * 0.125;
  }
};

/// A small fast CIFAR net in the style of airbench: a stem, then three stages of
/// conv → max-pool → BN → ReLU → conv → BN → ReLU at widths w, 2w, 4w; global max-pool; a
/// linear layer without bias whose logits are scaled by 1/8.
struct FastNetImpl : NetImpl {
  ConvBn stem{nullptr};
  std::vector<ConvBn> convs;
  Linear linear{nullptr};
  FastNetImpl(const Shape& s, std::int64_t w, const Groups& g) {
    stem = register_module("stem", ConvBn(s.channels, w, 1));
    std::int64_t in = w;
    for (int i = 0; i < 3; ++i) {
      const std::int64_t c = w << i;
      convs.push_back(register_module(fmt::format("block{}_conv1", i + 1), ConvBn(in, c, g(in, c), true)));
      convs.push_back(register_module(fmt::format("block{}_conv2", i + 1), ConvBn(c, c, g(c, c))));
      in = c;
    }
    linear = register_module("linear", Linear(nn::LinearOptions(in, s.classes).bias(false)));
    // A plain chain: every unit's channels feed only the next unit (or the linear layer).
    std::vector<std::string> units = {"stem"};
    for (int i = 0; i < 3; ++i)
      units.push_back(fmt::format("block{}_conv1", i + 1)), units.push_back(fmt::format("block{}_conv2", i + 1));
    for (std::size_t i = 0; i < units.size(); ++i)
      channel_groups.push_back(
          {units[i] + ".conv", {units[i] + ".bn"}, {}, {i + 1 < units.size() ? units[i + 1] + ".conv" : "linear"}});
  }
  T forward(T x) override {
    x = stem(x);
    for (auto& c : convs) x = c(x);
    return linear(std::get<0>(torch::adaptive_max_pool2d(x, {1, 1})).flatten(1)) * 0.125;
  }
};

}  // namespace

std::shared_ptr<NetImpl> make_residual(const std::string& arch, const ArchParams& p, const Shape& s) {
  const Groups g{p.groups};
  auto base = [&](std::int64_t own) { return p.width > 0 ? p.width : own; };
  if (arch == "resnet18") return std::make_shared<ResNetImpl<BasicBlock>>(s, std::vector<int>{2, 2, 2, 2}, base(64), g);
  if (arch == "resnet34") return std::make_shared<ResNetImpl<BasicBlock>>(s, std::vector<int>{3, 4, 6, 3}, base(64), g);
  if (arch == "preact_resnet18") return std::make_shared<PreActResNetImpl>(s, base(64), g);
  if (arch == "resnet20")
    return kaiming_normal(std::make_shared<ResNetImpl<CifarBlock>>(s, std::vector<int>{3, 3, 3}, base(16), g));
  if (arch == "resnet56")
    return kaiming_normal(std::make_shared<ResNetImpl<CifarBlock>>(s, std::vector<int>{9, 9, 9}, base(16), g));
  if (arch == "resnet9") return std::make_shared<ResNet9Impl>(s, base(64), g);
  if (arch == "fastnet") return std::make_shared<FastNetImpl>(s, base(32), g);
  return nullptr;
}

}  // namespace whittle::runtime::torchrt::parts
