// The export file (export.h).
#include "runtime/torch/export.h"

#include <fmt/format.h>

#include <set>

#include "lang/network.h"
#include "runtime/params.h"
#include "runtime/torch/layers.h"
#include "runtime/torch/quant.h"

namespace whittle::runtime::torchrt {

std::vector<char> export_bytes(const Net& net, const lang::StageInstance& model, const Dataset& data) {
  auto dict = [] { return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()); };
  auto out = dict(), params = dict(), channels = dict(), quant = dict();
  c10::Dict<std::string, torch::Tensor> state;
  out.insert("format", std::string("whittle-export-1"));
  const Params p(model);
  out.insert("arch", p.word("arch"));
  if (model.network) {  // a network written in the recipe: its parameters, and its layers as the key sees them
    for (const auto& cp : model.params)
      if (cp.name != "arch" && cp.value.is_number()) params.insert(cp.name, cp.value.num);
    out.insert("network", model.network->canonical());
  } else {
    for (const char* knob : {"width", "width_mult", "growth", "reduction", "groups"}) params.insert(knob, p.number(knob));
    std::vector<std::int64_t> blocks;
    for (const auto& b : p.value("blocks").items) blocks.push_back(static_cast<std::int64_t>(b.num));
    params.insert("blocks", blocks);
  }
  params.insert("classes", static_cast<std::int64_t>(data.classes));
  out.insert("params", params);
  out.insert("input", std::vector<std::int64_t>{data.train_x.size(1), data.train_x.size(2), data.train_x.size(3)});
  out.insert("dataset", data.name);
  out.insert("mean", data.mean);
  out.insert("std", data.std);
  std::set<std::string> layer_weights;
  for (const auto& l : net.layers()) {
    state.insert(l.name + ".weight", Net::effective_weight(l).contiguous());
    layer_weights.insert(l.name + ".weight");
    channels.insert(l.name, l.weight.sizes().vec());
    if (l.layer->quant) {
      const QuantSpec& q = spec_of(*l.layer->quant);
      quant.insert(l.name, fmt::format("{} {} bits, activations {} bits", q.method, q.bits, q.abits));
    }
  }
  auto own = [](const std::string& k) { return k.find(".q.") == std::string::npos; };  // not a quantizer's
  for (const auto& p : net.module->named_parameters())
    if (own(p.key()) && !layer_weights.count(p.key())) state.insert(p.key(), p.value().detach().contiguous());
  for (const auto& b : net.module->named_buffers())
    if (own(b.key())) state.insert(b.key(), b.value().contiguous());
  out.insert("channels", channels);
  out.insert("quantization", quant);
  out.insert("state_dict", state);
  return torch::pickle_save(out);
}

}  // namespace whittle::runtime::torchrt
