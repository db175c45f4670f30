// The architectures, following kuangliu/pytorch-cifar (docs/course.md): same layers, same parameter
// names (so an exported state dict loads into the Python classes), same default initialisation.
// This file: VGG, DenseNet, MobileNet/V2 and the 28x28 nets, and the dispatch; the residual
// architectures are in archs_resnet.cc.
#include "runtime/torch/models/archs.h"

#include <fmt/format.h>

#include <cmath>

#include "runtime/torch/models/arch_parts.h"

namespace whittle::runtime::torchrt {
namespace {

using namespace parts;

// ---------------------------------------------------------------------------------------------
// VGG: 3x3 conv (with bias) + BN + ReLU, max-pool, one linear; `features.N` as in kuangliu.

struct VggImpl : NetImpl {
  nn::Sequential features;
  Linear classifier{nullptr};
  VggImpl(const Shape& s, const std::vector<int>& cfg, std::int64_t w, const Groups& g) {
    std::int64_t in = s.channels;
    for (int c : cfg) {
      if (c == 0) {
        features->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2)));
        continue;
      }
      // Each conv's channels feed its BN and the next conv; the last conv's, the classifier.
      const auto at = static_cast<int>(features->size());
      if (!channel_groups.empty()) channel_groups.back().consumers = {fmt::format("features.{}", at)};
      channel_groups.push_back(
          {fmt::format("features.{}", at), {fmt::format("features.{}", at + 1)}, {}, {"classifier"}});
      const std::int64_t out = c * w / 64;
      features->push_back(conv3(in, out, 1, in == s.channels ? 1 : g(in, out), /*bias=*/true));
      features->push_back(bn(out));
      features->push_back(ReLU(nn::ReLUOptions(true)));
      in = out;
    }
    features->push_back(AvgPool(nn::AvgPool2dOptions(1).stride(1)));
    register_module("features", features);
    classifier = register_module("classifier", Linear(in, s.classes));
  }
  T forward(T x) override { return classifier(features->forward(x).flatten(1)); }
};

std::vector<int> vgg_cfg(int depth) {  // 0 is a max-pool
  switch (depth) {
    case 11:
      return {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0};
    case 13:
      return {64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0};
    case 16:
      return {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};
    default:
      return {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0};
  }
}

// ---------------------------------------------------------------------------------------------
// DenseNet-BC: bottleneck BN-ReLU-1x1 (4k) → BN-ReLU-3x3 (k), concatenated; transitions halve.

struct BottleneckImpl : nn::Module {
  BN bn1{nullptr}, bn2{nullptr};
  Conv conv1{nullptr}, conv2{nullptr};
  FunctionalReLU relu2{nullptr};  ///< F.relu after bn2: `convert` folds bn2 into conv1 and fuses it
  BottleneckImpl(std::int64_t in, std::int64_t k, const Groups& g) {
    bn1 = register_module("bn1", bn(in));
    conv1 = register_module("conv1", conv(in, 4 * k, 1));
    bn2 = register_module("bn2", bn(4 * k));
    relu2 = register_module("relu2", FunctionalReLU());
    conv2 = register_module("conv2", conv3(4 * k, k, 1, g(4 * k, k)));
  }
  T forward(T x) {
    auto out = conv1(torch::relu(bn1(x)));
    out = conv2(relu2(bn2(out)));
    return torch::cat({out, x}, 1);
  }
};
TORCH_MODULE(Bottleneck);

struct TransitionImpl : nn::Module {
  BN bn_{nullptr};
  Conv conv_{nullptr};
  TransitionImpl(std::int64_t in, std::int64_t out) {
    bn_ = register_module("bn", bn(in));
    conv_ = register_module("conv", conv(in, out, 1));
  }
  T forward(T x) { return torch::avg_pool2d(conv_(torch::relu(bn_(x))), 2); }
};
TORCH_MODULE(Transition);

struct DenseNetImpl : NetImpl {
  Conv conv1{nullptr};
  std::vector<nn::Sequential> dense;
  std::vector<Transition> trans;
  BN bn_{nullptr};
  Linear linear{nullptr};
  DenseNetImpl(const Shape& s, std::int64_t k, const std::vector<int>& blocks, double reduction, const Groups& g) {
    std::int64_t planes = 2 * k;
    conv1 = register_module("conv1", conv3(s.channels, planes, 1, 1));
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      nn::Sequential d;
      for (int b = 0; b < blocks[i]; ++b) {
        d->push_back(Bottleneck(planes, k, g));
        const std::string p = fmt::format("dense{}.{}.", i + 1, b);
        channel_groups.push_back({p + "conv1", {p + "bn2"}, {}, {p + "conv2"}});
        planes += k;
      }
      dense.push_back(register_module(fmt::format("dense{}", i + 1), d));
      if (i + 1 < blocks.size()) {
        const auto out = static_cast<std::int64_t>(std::floor(static_cast<double>(planes) * reduction));
        trans.push_back(register_module(fmt::format("trans{}", i + 1), Transition(planes, out)));
        planes = out;
      }
    }
    bn_ = register_module("bn", bn(planes));
    linear = register_module("linear", Linear(planes, s.classes));
  }
  T forward(T x) override {
    x = conv1(x);
    for (std::size_t i = 0; i < dense.size(); ++i) {
      x = dense[i]->forward(x);
      if (i < trans.size()) x = trans[i]->forward(x);
    }
    return linear(torch::adaptive_avg_pool2d(torch::relu(bn_(x)), {1, 1}).flatten(1));
  }
};

// ---------------------------------------------------------------------------------------------
// MobileNet (depthwise separable) and MobileNetV2 (inverted residuals), kuangliu's CIFAR strides.

std::int64_t scaled(std::int64_t c, double mult) {
  return std::max<std::int64_t>(1, std::llround(static_cast<double>(c) * mult));
}

struct DepthwiseBlockImpl : nn::Module {
  Conv conv1{nullptr}, conv2{nullptr};
  BN bn1{nullptr}, bn2{nullptr};
  DepthwiseBlockImpl(std::int64_t in, std::int64_t out, std::int64_t stride) {
    conv1 = register_module("conv1", conv3(in, in, stride, in));
    bn1 = register_module("bn1", bn(in));
    conv2 = register_module("conv2", conv(in, out, 1));
    bn2 = register_module("bn2", bn(out));
  }
  T forward(T x) { return torch::relu(bn2(conv2(torch::relu(bn1(conv1(x)))))); }
};
TORCH_MODULE(DepthwiseBlock);

struct MobileNetImpl : NetImpl {
  Conv conv1{nullptr};
  BN bn1{nullptr};
  nn::Sequential layers;
  Linear linear{nullptr};
  MobileNetImpl(const Shape& s, double m) {
    const std::pair<int, int> cfg[] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1},  {512, 2}, {512, 1},
                                       {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
    std::int64_t in = scaled(32, m);
    conv1 = register_module("conv1", conv3(s.channels, in, 1, 1));
    bn1 = register_module("bn1", bn(in));
    // The stem's and each block's pointwise channels go through the next block's depthwise conv
    // into its pointwise conv; the last block's into the linear layer.
    std::string producer = "conv1", norm = "bn1";
    for (auto [c, stride] : cfg) {
      const std::string p = fmt::format("layers.{}.", layers->size());
      channel_groups.push_back({producer, {norm, p + "bn1"}, {p + "conv1"}, {p + "conv2"}});
      producer = p + "conv2", norm = p + "bn2";
      layers->push_back(DepthwiseBlock(in, scaled(c, m), stride));
      in = scaled(c, m);
    }
    channel_groups.push_back({producer, {norm}, {}, {"linear"}});
    register_module("layers", layers);
    linear = register_module("linear", Linear(in, s.classes));
  }
  T forward(T x) override {
    x = layers->forward(torch::relu(bn1(conv1(x))));
    return linear(torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
  }
};

struct InvertedResidualImpl : nn::Module {
  Conv conv1{nullptr}, conv2{nullptr}, conv3_{nullptr};
  BN bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  nn::Sequential shortcut;
  std::int64_t stride;
  InvertedResidualImpl(std::int64_t in, std::int64_t out, std::int64_t expansion, std::int64_t stride_)
      : stride(stride_) {
    const std::int64_t planes = expansion * in;
    conv1 = register_module("conv1", conv(in, planes, 1));
    bn1 = register_module("bn1", bn(planes));
    conv2 = register_module("conv2", conv3(planes, planes, stride, planes));
    bn2 = register_module("bn2", bn(planes));
    conv3_ = register_module("conv3", conv(planes, out, 1));
    bn3 = register_module("bn3", bn(out));
    if (stride == 1 && in != out) {
      shortcut->push_back(conv(in, out, 1));
      shortcut->push_back(bn(out));
    }
    register_module("shortcut", shortcut);
  }
  T forward(T x) {
    auto out = torch::relu(bn1(conv1(x)));
    out = torch::relu(bn2(conv2(out)));
    out = bn3(conv3_(out));
    if (stride != 1) return out;
    return out + (shortcut->is_empty() ? x : shortcut->forward(x));
  }
};
TORCH_MODULE(InvertedResidual);

struct MobileNetV2Impl : NetImpl {
  Conv conv1{nullptr}, conv2{nullptr};
  BN bn1{nullptr}, bn2{nullptr};
  nn::Sequential layers;
  Linear linear{nullptr};
  MobileNetV2Impl(const Shape& s, double m) {
    // (expansion, out channels, blocks, stride); kuangliu's CIFAR change: stride 1 in the second row.
    const int cfg[][4] = {{1, 16, 1, 1}, {6, 24, 2, 1},  {6, 32, 3, 2}, {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    std::int64_t in = scaled(32, m);
    conv1 = register_module("conv1", conv3(s.channels, in, 1, 1));
    bn1 = register_module("bn1", bn(in));
    for (const auto& row : cfg)
      for (int b = 0; b < row[2]; ++b) {
        const std::string p = fmt::format("layers.{}.", layers->size());
        channel_groups.push_back({p + "conv1", {p + "bn1", p + "bn2"}, {p + "conv2"}, {p + "conv3"}});
        layers->push_back(InvertedResidual(in, scaled(row[1], m), row[0], b == 0 ? row[3] : 1));
        in = scaled(row[1], m);
      }
    register_module("layers", layers);
    const std::int64_t last = m > 1 ? scaled(1280, m) : 1280;
    conv2 = register_module("conv2", conv(in, last, 1));
    bn2 = register_module("bn2", bn(last));
    linear = register_module("linear", Linear(last, s.classes));
  }
  T forward(T x) override {
    x = layers->forward(torch::relu(bn1(conv1(x))));
    x = torch::relu(bn2(conv2(x)));
    return linear(torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
  }
};

// ---------------------------------------------------------------------------------------------
// For 28x28 grey images: a small CNN (the quick start's) and LeNet-5.

struct SmallCnnImpl : NetImpl {
  Conv c1{nullptr}, c2{nullptr};
  BN b1{nullptr}, b2{nullptr};
  Linear f1{nullptr}, f2{nullptr};
  SmallCnnImpl(const Shape& s, std::int64_t w, const Groups& g) {
    c1 = register_module("conv1", conv3(s.channels, w, 1, 1));
    b1 = register_module("bn1", bn(w));
    c2 = register_module("conv2", conv3(w, 2 * w, 1, g(w, 2 * w)));
    b2 = register_module("bn2", bn(2 * w));
    f1 = register_module("fc1", Linear(2 * w * (s.height / 4) * (s.width / 4), 64));
    f2 = register_module("fc2", Linear(64, s.classes));
    channel_groups = {{"conv1", {"bn1"}, {}, {"conv2"}},
                      {"conv2", {"bn2"}, {}, {"fc1"}, (s.height / 4) * (s.width / 4)},
                      {"fc1", {}, {}, {"fc2"}}};
  }
  T forward(T x) override {
    x = torch::max_pool2d(torch::relu(b1(c1(x))), 2);
    x = torch::max_pool2d(torch::relu(b2(c2(x))), 2);
    return f2(torch::relu(f1(x.flatten(1))));
  }
};

struct LeNet5Impl : NetImpl {
  Conv c1{nullptr}, c2{nullptr};
  Linear f1{nullptr}, f2{nullptr}, f3{nullptr};
  explicit LeNet5Impl(const Shape& s) {
    const std::int64_t pad = s.height == 28 ? 2 : 0;  // 28x28 is padded to LeNet's 32x32
    c1 = register_module("conv1", conv(s.channels, 6, 5, 1, pad, 1, true));
    c2 = register_module("conv2", conv(6, 16, 5, 1, 0, 1, true));
    const std::int64_t side = ((s.height + 2 * pad - 4) / 2 - 4) / 2;
    f1 = register_module("fc1", Linear(16 * side * side, 120));
    f2 = register_module("fc2", Linear(120, 84));
    f3 = register_module("fc3", Linear(84, s.classes));
    channel_groups = {{"conv1", {}, {}, {"conv2"}},
                      {"conv2", {}, {}, {"fc1"}, side * side},
                      {"fc1", {}, {}, {"fc2"}},
                      {"fc2", {}, {}, {"fc3"}}};
  }
  T forward(T x) override {
    x = torch::max_pool2d(torch::relu(c1(x)), 2);
    x = torch::max_pool2d(torch::relu(c2(x)), 2);
    return f3(torch::relu(f2(torch::relu(f1(x.flatten(1))))));
  }
};

}  // namespace

std::shared_ptr<NetImpl> make_arch(const std::string& arch, const ArchParams& p, const Shape& s) {
  if (auto net = parts::make_residual(arch, p, s)) return net;
  const parts::Groups g{p.groups};
  auto base = [&](std::int64_t own) { return p.width > 0 ? p.width : own; };
  if (arch.rfind("vgg", 0) == 0) return std::make_shared<VggImpl>(s, vgg_cfg(std::stoi(arch.substr(3))), base(64), g);
  if (arch == "densenet") return std::make_shared<DenseNetImpl>(s, p.growth, p.blocks, p.reduction, g);
  if (arch == "densenet_cifar") return std::make_shared<DenseNetImpl>(s, 12, std::vector<int>{6, 12, 24, 16}, 0.5, g);
  if (arch == "mobilenet") return std::make_shared<MobileNetImpl>(s, p.width_mult);
  if (arch == "mobilenetv2") return std::make_shared<MobileNetV2Impl>(s, p.width_mult);
  if (arch == "lenet5") return std::make_shared<LeNet5Impl>(s);
  if (arch == "small_cnn") return std::make_shared<SmallCnnImpl>(s, base(16), g);
  throw StageError(fmt::format("unknown architecture `{}`", arch));
}

}  // namespace whittle::runtime::torchrt
