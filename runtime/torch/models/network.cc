// Networks written in the recipe, built from whittle's own layers (layers.h) so that profiling,
// masks, every quantizer, `convert` and export see them as they see the built-in architectures.
// Module names are the elaborated network's (lang/network.h): what nn.Sequential would call them.
#include "runtime/torch/models/network.h"

#include <functional>

#include "runtime/torch/models/arch_parts.h"

namespace whittle::runtime::torchrt {
namespace {

namespace nn = torch::nn;
using lang::net::Layer;
using lang::net::Op;
using T = torch::Tensor;
using Step = std::function<T(T)>;

/// Registers each layer of a block on `owner` under its name and returns the block's forward.
Step fill(nn::Module& owner, const Layer& block);

/// nn.Sequential of whittle's layers.
struct BlockImpl : nn::Module {
  explicit BlockImpl(const Layer& block) : step(fill(*this, block)) {}
  T forward(T x) { return step(std::move(x)); }
  Step step;
};

/// body(x) + shortcut(x); an empty shortcut is the identity.
struct ResidualImpl : nn::Module {
  explicit ResidualImpl(const Layer& l)
      : body(register_module("body", std::make_shared<BlockImpl>(l.children.at(0)))),
        shortcut(register_module("shortcut", std::make_shared<BlockImpl>(l.children.at(1)))) {}
  T forward(const T& x) { return body->forward(x) + shortcut->forward(x); }
  std::shared_ptr<BlockImpl> body, shortcut;
};

/// N times x = cat([body_i(x), x]) along the channels.
struct DenseImpl : nn::Module {
  explicit DenseImpl(const Layer& l) {
    for (const Layer& b : l.children) bodies.push_back(register_module(b.name, std::make_shared<BlockImpl>(b)));
  }
  T forward(T x) {
    for (auto& b : bodies) x = torch::cat({b->forward(x), x}, 1);
    return x;
  }
  std::vector<std::shared_ptr<BlockImpl>> bodies;
};

/// `init: dirac` (airbench): the first min(C_in, C) filters pass their own input channel through
/// the kernel's centre (torch.nn.init.dirac_ on them); the others keep PyTorch's initialisation.
void dirac(ConvImpl& c) {
  torch::NoGradGuard no_grad;
  auto& w = c.weight;
  const std::int64_t n = std::min(w.size(0), w.size(1));
  w.slice(0, 0, n).zero_();
  for (std::int64_t i = 0; i < n; ++i) w[i][i][w.size(2) / 2][w.size(3) / 2] = 1;
}

template <typename M>
Step module_step(nn::Module& owner, const std::string& name, std::shared_ptr<M> m) {
  owner.register_module(name, m);
  return [m](T x) { return m->forward(std::move(x)); };
}

Step layer_step(nn::Module& owner, const Layer& l) {
  switch (l.op) {
    case Op::Conv: {
      auto c = Conv(nn::Conv2dOptions(l.in.c, l.out.c, {l.kernel_h, l.kernel_w})
                        .stride(l.stride)
                        .padding(l.padding)
                        .groups(l.groups)
                        .bias(l.bias));
      if (l.dirac) dirac(*c);
      return module_step(owner, l.name, c.ptr());
    }
    case Op::Whiten:
      return module_step(owner, l.name,
                         std::make_shared<WhitenImpl>(
                             nn::Conv2dOptions(l.in.c, l.out.c, {l.kernel_h, l.kernel_w}).padding(0).bias(true),
                             l.bias_epochs, l.images, l.eps));
    case Op::BatchNorm: {
      auto b = BN(l.in.c, l.momentum, l.eps);
      if (!l.learn_scale) b->weight.requires_grad_(false);  // stays 1: no gradient, no decay (fit.cc skips it)
      return module_step(owner, l.name, b.ptr());
    }
    case Op::ReLU:
      return module_step(owner, l.name, ReLU().ptr());
    case Op::GELU:
      return module_step(owner, l.name, GELU().ptr());
    case Op::Dropout:
      return module_step(owner, l.name, nn::Dropout(nn::DropoutOptions(l.p)).ptr());
    case Op::MaxPool:
      return module_step(
          owner, l.name,
          nn::MaxPool2d(nn::MaxPool2dOptions({l.kernel_h, l.kernel_w}).stride(l.stride).padding(l.padding)).ptr());
    case Op::AvgPool:
      return module_step(
          owner, l.name,
          AvgPool(nn::AvgPool2dOptions({l.kernel_h, l.kernel_w}).stride(l.stride).padding(l.padding)).ptr());
    case Op::Linear: {
      auto m = Linear(nn::LinearOptions(l.in.size(), l.out.c).bias(l.bias)).ptr();
      m->scale = l.scale;
      owner.register_module(l.name, m);
      return [m](T x) { return m->forward(x.dim() > 2 ? x.flatten(1) : x); };
    }
    case Op::Sequential:
      return module_step(owner, l.name, std::make_shared<BlockImpl>(l));
    case Op::Residual:
      return module_step(owner, l.name, std::make_shared<ResidualImpl>(l));
    case Op::Dense:
      return module_step(owner, l.name, std::make_shared<DenseImpl>(l));
  }
  throw std::logic_error("unknown layer");
}

Step fill(nn::Module& owner, const Layer& block) {
  std::vector<Step> steps;
  for (const Layer& l : block.children) steps.push_back(layer_step(owner, l));
  if (steps.size() == 1) return steps.front();
  return [steps = std::move(steps)](T x) {
    for (const Step& s : steps) x = s(std::move(x));
    return x;
  };
}

bool depthwise(const Layer& l) { return l.op == Op::Conv && l.groups > 1 && l.groups == l.in.c && l.groups == l.out.c; }

/// The channel groups of one block and of every block inside it: a conv (not grouped) or a linear
/// whose output goes through BN, ReLU, GELU, dropout, pooling and depthwise convs to the next conv or
/// linear of the same block. Channels that leave the block (into an addition or a concatenation) are tied
/// to what they meet there, so they are in no group.
void find_groups(const Layer& block, const std::string& prefix, std::vector<ChannelGroup>& out) {
  auto path = [&](const Layer& l) { return prefix.empty() ? l.name : prefix + "." + l.name; };
  const auto& ls = block.children;
  for (std::size_t i = 0; i < ls.size(); ++i) {
    if (ls[i].op == Op::Sequential)
      find_groups(ls[i], path(ls[i]), out);
    else
      for (const Layer& c : ls[i].children) find_groups(c, path(ls[i]) + "." + c.name, out);  // residual, dense
    if (!((ls[i].op == Op::Conv && ls[i].groups == 1) || ls[i].op == Op::Linear)) continue;
    ChannelGroup g;
    g.producer = path(ls[i]);
    for (std::size_t j = i + 1; j < ls.size(); ++j) {
      const Layer& n = ls[j];
      if (n.op == Op::BatchNorm) {
        g.norms.push_back(path(n));
      } else if (n.op == Op::ReLU || n.op == Op::GELU || n.op == Op::Dropout || n.op == Op::MaxPool ||
                 n.op == Op::AvgPool) {
      } else if (depthwise(n)) {
        g.through.push_back(path(n));
      } else if ((n.op == Op::Conv && n.groups == 1) || n.op == Op::Linear) {
        g.consumers.push_back(path(n));
        if (n.op == Op::Linear) g.spatial = n.in.flat ? 1 : static_cast<std::int64_t>(n.in.h) * n.in.w;
        out.push_back(std::move(g));
        break;
      } else {
        break;
      }
    }
  }
}

struct NetworkImpl : NetImpl {
  explicit NetworkImpl(const lang::net::Network& n) : step(fill(*this, n.root)) {
    find_groups(n.root, "", channel_groups);
  }
  T forward(T x) override { return step(std::move(x)); }
  Step step;
};

}  // namespace

std::shared_ptr<NetImpl> make_network(const lang::net::Network& n) { return std::make_shared<NetworkImpl>(n); }

}  // namespace whittle::runtime::torchrt
