// Small CNN, LeNet-5 and ResNet18 (CIFAR: 3x3 stem, no max-pool), and checkpoints.
#include "runtime/torch/models.h"

#include <fmt/format.h>

#include "runtime/executor.h"

namespace whittle::runtime::torchrt {
namespace nn = torch::nn;

namespace {

nn::Conv2dOptions conv(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride = 1, std::int64_t pad = 0) {
  return nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(false);
}

/// The output side of a convolution, and its multiply-accumulates for one image.
std::int64_t conv_side(std::int64_t side, std::int64_t k, std::int64_t stride, std::int64_t pad) { return (side + 2 * pad - k) / stride + 1; }
std::int64_t conv_macs(std::int64_t out_h, std::int64_t out_w, std::int64_t in, std::int64_t out, std::int64_t k) {
  return out_h * out_w * out * in * k * k;
}

/// Two conv-BN-ReLU-pool blocks and a two-layer classifier: the quick start's network.
struct SmallCnnImpl : NetImpl {
  nn::Conv2d c1{nullptr}, c2{nullptr};
  nn::BatchNorm2d b1{nullptr}, b2{nullptr};
  nn::Linear f1{nullptr}, f2{nullptr};
  std::int64_t macs_ = 0;
  SmallCnnImpl(const Shape& s, std::int64_t width) {
    const std::int64_t fc_in = 2 * width * (s.height / 4) * (s.width / 4);
    macs_ = conv_macs(s.height, s.width, s.channels, width, 3) + conv_macs(s.height / 2, s.width / 2, width, 2 * width, 3) +
            fc_in * 64 + 64 * s.classes;
    c1 = register_module("conv1", nn::Conv2d(conv(s.channels, width, 3, 1, 1)));
    b1 = register_module("bn1", nn::BatchNorm2d(width));
    c2 = register_module("conv2", nn::Conv2d(conv(width, 2 * width, 3, 1, 1)));
    b2 = register_module("bn2", nn::BatchNorm2d(2 * width));
    f1 = register_module("fc1", nn::Linear(2 * width * (s.height / 4) * (s.width / 4), 64));
    f2 = register_module("fc2", nn::Linear(64, s.classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = torch::max_pool2d(torch::relu(b1(c1(x))), 2);
    x = torch::max_pool2d(torch::relu(b2(c2(x))), 2);
    return f2(torch::relu(f1(x.flatten(1))));
  }
  std::int64_t macs() const override { return macs_; }
};

struct LeNet5Impl : NetImpl {
  nn::Conv2d c1{nullptr}, c2{nullptr};
  nn::Linear f1{nullptr}, f2{nullptr}, f3{nullptr};
  std::int64_t macs_ = 0;
  explicit LeNet5Impl(const Shape& s) {
    const std::int64_t pad = s.height == 28 ? 2 : 0;
    c1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(s.channels, 6, 5).padding(pad)));
    c2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(6, 16, 5)));
    const std::int64_t side1 = s.height + 2 * pad - 4, side = (side1 / 2 - 4) / 2;
    macs_ = conv_macs(side1, side1, s.channels, 6, 5) + conv_macs(side1 / 2 - 4, side1 / 2 - 4, 6, 16, 5) + 16 * side * side * 120 +
            120 * 84 + 84 * s.classes;
    f1 = register_module("fc1", nn::Linear(16 * side * side, 120));
    f2 = register_module("fc2", nn::Linear(120, 84));
    f3 = register_module("fc3", nn::Linear(84, s.classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = torch::max_pool2d(torch::relu(c1(x)), 2);
    x = torch::max_pool2d(torch::relu(c2(x)), 2);
    return f3(torch::relu(f2(torch::relu(f1(x.flatten(1))))));
  }
  std::int64_t macs() const override { return macs_; }
};

struct BasicBlockImpl : nn::Module {
  nn::Conv2d c1{nullptr}, c2{nullptr}, sc{nullptr};
  nn::BatchNorm2d b1{nullptr}, b2{nullptr}, sb{nullptr};
  BasicBlockImpl(std::int64_t in, std::int64_t planes, std::int64_t stride) {
    c1 = register_module("conv1", nn::Conv2d(conv(in, planes, 3, stride, 1)));
    b1 = register_module("bn1", nn::BatchNorm2d(planes));
    c2 = register_module("conv2", nn::Conv2d(conv(planes, planes, 3, 1, 1)));
    b2 = register_module("bn2", nn::BatchNorm2d(planes));
    if (stride != 1 || in != planes) {
      sc = register_module("shortcut_conv", nn::Conv2d(conv(in, planes, 1, stride)));
      sb = register_module("shortcut_bn", nn::BatchNorm2d(planes));
    }
  }
  torch::Tensor forward(torch::Tensor x) {
    auto out = b2(c2(torch::relu(b1(c1(x)))));
    return torch::relu(out + (sc ? sb(sc(x)) : x));
  }
};
TORCH_MODULE(BasicBlock);

struct ResNet18Impl : NetImpl {
  nn::Conv2d stem{nullptr};
  nn::BatchNorm2d bn{nullptr};
  std::vector<BasicBlock> blocks;
  nn::Linear fc{nullptr};
  std::int64_t macs_ = 0;
  ResNet18Impl(const Shape& s, std::int64_t width) {
    stem = register_module("conv1", nn::Conv2d(conv(s.channels, width, 3, 1, 1)));
    std::int64_t h = s.height, w = s.width;
    macs_ = conv_macs(h, w, s.channels, width, 3);
    bn = register_module("bn1", nn::BatchNorm2d(width));
    std::int64_t in = width;
    const std::int64_t planes[] = {width, 2 * width, 4 * width, 8 * width};
    for (int stage = 0; stage < 4; ++stage) {
      for (int b = 0; b < 2; ++b) {
        const std::int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
        const std::int64_t oh = conv_side(h, 3, stride, 1), ow = conv_side(w, 3, stride, 1);
        macs_ += conv_macs(oh, ow, in, planes[stage], 3) + conv_macs(oh, ow, planes[stage], planes[stage], 3);
        if (stride != 1 || in != planes[stage]) macs_ += conv_macs(oh, ow, in, planes[stage], 1);
        h = oh;
        w = ow;
        blocks.push_back(register_module(fmt::format("layer{}_{}", stage + 1, b), BasicBlock(in, planes[stage], stride)));
        in = planes[stage];
      }
    }
    fc = register_module("linear", nn::Linear(8 * width, s.classes));
    macs_ += 8 * width * s.classes;
  }
  std::int64_t macs() const override { return macs_; }
  torch::Tensor forward(torch::Tensor x) override {
    x = torch::relu(bn(stem(x)));
    for (auto& b : blocks) x = b->forward(x);
    return fc(torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
  }
};

}  // namespace

void Net::apply_masks() {
  if (masks.empty()) return;
  if (masked_.size() != masks.size()) {
    masked_.clear();
    for (auto& p : module->named_parameters()) {
      auto it = masks.find(p.key());
      if (it != masks.end()) masked_.emplace_back(p.value(), it->second);
    }
  }
  torch::NoGradGuard guard;
  for (auto& [param, mask] : masked_) param.mul_(mask);
}

std::vector<std::pair<std::string, torch::Tensor>> Net::prunable() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& p : module->named_parameters())
    if (p.value().dim() >= 2 && p.key().size() >= 6 && p.key().substr(p.key().size() - 6) == "weight") out.emplace_back(p.key(), p.value());
  return out;
}

Net build_model(const lang::StageInstance& s, const Shape& shape, std::uint64_t seed) {
  torch::manual_seed(seed);
  const std::string arch = s.value("arch")->str;
  const auto width = static_cast<std::int64_t>(s.value("width")->num);
  Net net;
  if (arch == "small_cnn") net.module = std::make_shared<SmallCnnImpl>(shape, width > 0 ? width : 16);
  else if (arch == "lenet5") net.module = std::make_shared<LeNet5Impl>(shape);
  else if (arch == "resnet18") net.module = std::make_shared<ResNet18Impl>(shape, width > 0 ? width : 64);
  else throw StageError(fmt::format("the architecture `{}` cannot run yet in this build", arch));
  return net;
}

void save_net(const Net& net, const std::string& path) {
  torch::serialize::OutputArchive a;
  for (const auto& p : net.module->named_parameters()) a.write("p." + p.key(), p.value());
  for (const auto& b : net.module->named_buffers()) a.write("b." + b.key(), b.value());
  for (const auto& [k, m] : net.masks) a.write("m." + k, m);
  a.save_to(path);
}

void load_net(Net& net, const std::string& path) {
  torch::serialize::InputArchive a;
  a.load_from(path);
  torch::NoGradGuard guard;
  for (auto& p : net.module->named_parameters()) {
    torch::Tensor t;
    a.read("p." + p.key(), t);
    p.value().copy_(t);
  }
  for (auto& b : net.module->named_buffers()) {
    torch::Tensor t;
    a.read("b." + b.key(), t);
    b.value().copy_(t);
  }
  net.masks.clear();
  net.masks_changed();
  for (const auto& [name, w] : net.prunable()) {
    torch::Tensor m;
    if (a.try_read("m." + name, m)) net.masks[name] = m;
  }
}

std::int64_t count_params(const Net& net) {
  std::int64_t n = 0;
  for (const auto& p : net.module->parameters()) n += p.numel();
  return n;
}

std::int64_t count_nonzero_prunable(const Net& net, std::int64_t& total) {
  std::int64_t nz = 0;
  total = 0;
  for (const auto& [name, w] : net.prunable()) {
    total += w.numel();
    nz += w.ne(0).sum().item<std::int64_t>();
  }
  return nz;
}

}  // namespace whittle::runtime::torchrt
