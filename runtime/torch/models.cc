// Building a model from a `model` stage, measuring it, and its checkpoints.
#include "runtime/torch/models.h"

#include <fmt/format.h>

#include "runtime/executor.h"
#include "runtime/torch/archs.h"
#include "runtime/torch/layers.h"

namespace whittle::runtime::torchrt {
namespace nn = torch::nn;

thread_local bool g_profiling = false;

namespace {

/// Which `model` parameters an architecture reads; giving another one is an error, not a silent no-op.
bool knob_applies(const std::string& arch, const std::string& knob) {
  const bool dense = arch == "densenet", mobile = arch == "mobilenet" || arch == "mobilenetv2";
  if (knob == "width") return !dense && !mobile && arch != "densenet_cifar" && arch != "lenet5";
  if (knob == "width_mult") return mobile;
  if (knob == "growth" || knob == "blocks" || knob == "reduction") return dense;
  if (knob == "groups") return !mobile && arch != "lenet5";
  return true;
}

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

void Net::to(torch::Device device, bool channels_last) {
  module->to(device);
  if (channels_last) {
    torch::NoGradGuard guard;
    for (auto& p : module->parameters())
      if (p.dim() == 4) p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
  }
  for (auto& [name, m] : masks) m = m.to(device);
  masks_changed();
}

void clear_grads(torch::nn::Module& module) {
  for (auto& p : module.parameters()) p.mutable_grad().reset();
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
  for (const char* knob : {"width", "width_mult", "growth", "blocks", "reduction", "groups"})
    if (s.param(knob)->origin == lang::Origin::Given && !knob_applies(arch, knob))
      throw StageError(fmt::format("`{}` does not shape a `{}`", knob, arch),
                       arch == "densenet" || arch == "densenet_cifar" ? "DenseNet is shaped by `growth`, `blocks` and `reduction`"
                       : arch.rfind("mobilenet", 0) == 0            ? "MobileNets are shaped by `width_mult`"
                                                                    : "remove it, or see `whittle doc model`");
  ArchParams p;
  p.width = static_cast<std::int64_t>(s.value("width")->num);
  p.width_mult = s.value("width_mult")->num;
  p.growth = static_cast<std::int64_t>(s.value("growth")->num);
  p.blocks.clear();
  for (const auto& b : s.value("blocks")->items) p.blocks.push_back(static_cast<int>(b.num));
  p.reduction = s.value("reduction")->num;
  p.groups = static_cast<std::int64_t>(s.value("groups")->num);
  Net net;
  net.module = make_arch(arch, p, shape);
  profile(*net.module, shape);
  return net;
}

void profile(NetImpl& net, const Shape& shape) {
  const bool was_training = net.is_training();
  net.eval();
  torch::NoGradGuard no_grad;
  g_profiling = true;
  try {
    net.forward(torch::zeros({1, shape.channels, shape.height, shape.width}));
  } catch (const c10::Error& e) {
    g_profiling = false;
    net.train(was_training);
    throw StageError(fmt::format("this architecture cannot take {}x{}x{} images: {}", shape.channels, shape.height, shape.width,
                                 e.what_without_backtrace()),
                     "the CIFAR architectures expect 32x32 images; for 28x28 data use `small_cnn` or `lenet5`");
  }
  g_profiling = false;
  net.train(was_training);
  net.total_macs = 0;
  net.layer_macs.clear();
  for (const auto& m : net.named_modules("", false)) {
    if (const auto* c = dynamic_cast<const CountedLayer*>(m.value().get())) {
      net.layer_macs[m.key()] = c->macs;
      net.total_macs += c->macs;
    }
  }
}

void save_net(const Net& net, const std::string& path) {
  torch::serialize::OutputArchive a;
  // Always CPU tensors in the standard layout, whatever device or memory format trained them.
  auto portable = [](const torch::Tensor& t) { return t.detach().to(torch::kCPU).contiguous(); };
  for (const auto& p : net.module->named_parameters()) a.write("p." + p.key(), portable(p.value()));
  for (const auto& b : net.module->named_buffers()) a.write("b." + b.key(), portable(b.value()));
  for (const auto& [k, m] : net.masks) a.write("m." + k, portable(m));
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
