// Building a model from a `model` stage and measuring it (saving and loading it: compression/model_file.h).
#include "runtime/torch/models/models.h"

#include "runtime/torch/models/network.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>

#include "lang/catalog.h"
#include "runtime/cache/store.h"
#include "runtime/plan/architectures.h"
#include "runtime/plan/params.h"
#include "runtime/plan/plan.h"
#include "runtime/plan/stage.h"
#include "runtime/system/atomic_file.h"
#include "runtime/torch/data/data.h"
#include "runtime/torch/models/archs.h"
#include "runtime/torch/models/layers.h"
#include "runtime/torch/models/network.h"
#include "runtime/torch/models/script_net.h"
#include "runtime/torch/models/tensor_file.h"

namespace whittle::runtime::torchrt {
namespace nn = torch::nn;

void Net::apply_masks() {
  if (!looked_up_) {
    masked_.clear();
    constrained_.clear();
    for (auto& p : module->named_parameters()) {
      auto it = masks.find(p.key());
      if (it != masks.end()) masked_.emplace_back(p.value(), it->second);
    }
    for (auto& l : layers())
      if (l.layer->quant) constrained_.emplace_back(l.weight, l.layer);
    looked_up_ = true;
  }
  if (masked_.empty() && constrained_.empty()) return;
  torch::NoGradGuard guard;
  for (auto& [w, layer] : constrained_) layer->quant->constrain(w);
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
  for (const auto& l : layers()) out.emplace_back(l.name + ".weight", l.weight);
  return out;
}

std::vector<LayerRef> Net::layers() const {
  std::vector<LayerRef> out;
  for (const auto& m : module->named_modules("", false))
    if (auto* l = dynamic_cast<WeightLayer*>(m.value().get()))
      out.push_back({m.key(), m.value().get(), l, m.value()->named_parameters(false)["weight"]});
  return out;
}

torch::Tensor Net::effective_weight(const LayerRef& l) {
  torch::NoGradGuard guard;
  return l.layer->quant ? l.layer->quant->weight(l.weight) : l.weight.detach();
}

Net build_model(const lang::StageInstance& s, const Shape& shape, std::uint64_t seed) {
  torch::manual_seed(seed);
  if (s.network) {
    Net net;
    net.module = make_network(*s.network);
    profile(*net.module, shape);
    return net;
  }
  const Params params(s);
  const std::string arch = params.word("arch");
  // The checker refuses these at the knob's line (E0208); a stage built another way meets them here.
  for (const lang::ParamDef& knob : lang::Catalog::builtin().stage("model")->params)
    if (knob.only_for == "arch" && params.given(knob.name.c_str()) && !knob_applies(arch, knob.name))
      throw StageError(fmt::format("`{}` does not shape a `{}`", knob.name, arch),
                       fmt::format("remove it (`whittle doc {}` lists its knobs)", arch));
  if (arch == "torchscript") {
    if (s.file.empty()) throw StageError("`model torchscript` has no file to read", "give it `path: \"my_net.pt\"`");
    Net net;
    net.module = load_script_net(s.file, shape);
    profile(*net.module, shape);
    return net;
  }
  ArchParams p;
  p.width = params.count("width");
  p.width_mult = params.number("width_mult");
  p.growth = params.count("growth");
  p.blocks.clear();
  for (const auto& b : params.value("blocks").items) p.blocks.push_back(static_cast<int>(b.num));
  p.reduction = params.number("reduction");
  p.groups = params.count("groups");
  Net net;
  net.module = make_arch(arch, p, shape);
  profile(*net.module, shape);
  return net;
}

void profile(NetImpl& net, const Shape& shape) {
  const bool was_training = net.is_training();
  net.eval();
  torch::NoGradGuard no_grad;
  try {
    Profiling::Scope profiling;
    net.forward(torch::zeros({1, shape.channels, shape.height, shape.width}));
  } catch (const c10::Error& e) {
    net.train(was_training);
    throw StageError(fmt::format("this architecture cannot take {}x{}x{} images: {}", shape.channels, shape.height,
                                 shape.width, e.what_without_backtrace()),
                     "the CIFAR architectures expect 32x32 images; for 28x28 data use `small_cnn` or `lenet5`");
  }
  net.train(was_training);
  net.in_channels = shape.channels, net.in_height = shape.height, net.in_width = shape.width;
  net.total_macs = 0;
  net.layer_macs.clear();
  for (const auto& m : net.named_modules("", false)) {
    if (const auto* c = dynamic_cast<const WeightLayer*>(m.value().get())) {
      net.layer_macs[m.key()] = c->macs;
      net.total_macs += c->macs;
    }
  }
}

void sync_options(NetImpl& net) {
  for (const auto& m : net.named_modules("", false)) {
    if (auto* c = dynamic_cast<ConvImpl*>(m.value().get())) {
      auto& o = c->options;
      const bool depthwise = o.groups() > 1 && o.groups() == o.in_channels() && c->weight.size(1) == 1;
      o.out_channels(c->weight.size(0));
      if (depthwise) o.groups(c->weight.size(0));
      o.in_channels(c->weight.size(1) * o.groups());
    } else if (auto* l = dynamic_cast<LinearImpl*>(m.value().get())) {
      l->options.in_features(l->weight.size(1));
      l->options.out_features(l->weight.size(0));
    }  // BN has no channel count of its own: its tensors are its shape
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
