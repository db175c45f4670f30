// The export file (export.h).
#include "runtime/torch/export/export.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <set>

#include "lang/network.h"
#include "runtime/plan/params.h"
#include "runtime/torch/compression/quant.h"
#include "runtime/torch/models/layers.h"
#include "runtime/torch/models/tensor_file.h"

namespace whittle::runtime::torchrt {

namespace {

/// What both state-dict exports hold besides the architecture: the tensors under kuangliu's names
/// (each layer's weight as it computes, quantizers' own tensors left out), each layer's channel
/// counts, and how each layer was quantized.
struct ExportState {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> channels;
  std::vector<std::pair<std::string, std::string>> quantization;
};

ExportState export_state(const Net& net) {
  ExportState s;
  std::set<std::string> layer_weights;
  for (const auto& l : net.layers()) {
    s.tensors.emplace_back(l.name + ".weight", Net::effective_weight(l).contiguous());
    layer_weights.insert(l.name + ".weight");
    s.channels.emplace_back(l.name, l.weight.sizes().vec());
    if (l.layer->quant) {
      const QuantSpec& q = spec_of(*l.layer->quant);
      s.quantization.emplace_back(l.name, fmt::format("{} {} bits, activations {} bits", q.method, q.bits, q.abits));
    }
  }
  auto own = [](const std::string& k) { return k.find(".q.") == std::string::npos; };  // not a quantizer's
  for (const auto& p : net.module->named_parameters())
    if (own(p.key()) && !layer_weights.count(p.key())) s.tensors.emplace_back(p.key(), p.value().detach().contiguous());
  for (const auto& b : net.module->named_buffers())
    if (own(b.key())) s.tensors.emplace_back(b.key(), b.value().contiguous());
  return s;
}

}  // namespace

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
    for (const char* knob : {"width", "width_mult", "growth", "reduction", "groups"})
      params.insert(knob, p.number(knob));
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
  const ExportState s = export_state(net);
  for (const auto& [k, t] : s.tensors) state.insert(k, t);
  for (const auto& [k, c] : s.channels) channels.insert(k, c);
  for (const auto& [k, q] : s.quantization) quant.insert(k, q);
  out.insert("channels", channels);
  out.insert("quantization", quant);
  out.insert("state_dict", state);
  return torch::pickle_save(out);
}

std::string safetensors_export_bytes(const Net& net, const lang::StageInstance& model, const Dataset& data) {
  safetensors::Writer w;
  const ExportState s = export_state(net);
  for (const auto& [k, t] : s.tensors) add_tensor(w, k, t);
  const Params p(model);
  nlohmann::json params = nlohmann::json::object();
  if (model.network) {
    for (const auto& cp : model.params)
      if (cp.name != "arch" && cp.value.is_number()) params[cp.name] = cp.value.num;
    w.meta("network", model.network->canonical());
  } else {
    for (const char* knob : {"width", "width_mult", "growth", "reduction", "groups"}) params[knob] = p.number(knob);
    std::vector<std::int64_t> blocks;
    for (const auto& b : p.value("blocks").items) blocks.push_back(static_cast<std::int64_t>(b.num));
    params["blocks"] = blocks;
  }
  params["classes"] = data.classes;
  nlohmann::json channels = nlohmann::json::object(), quant = nlohmann::json::object();
  for (const auto& [k, c] : s.channels) channels[k] = c;
  for (const auto& [k, q] : s.quantization) quant[k] = q;
  // safetensors metadata is text to text: JSON where the value is not a word.
  w.meta("format", "whittle-export-1");
  w.meta("arch", p.word("arch"));
  w.meta("params", params.dump());
  w.meta("input",
         nlohmann::json(std::vector<std::int64_t>{data.train_x.size(1), data.train_x.size(2), data.train_x.size(3)})
             .dump());
  w.meta("dataset", data.name);
  w.meta("mean", nlohmann::json(data.mean).dump());
  w.meta("std", nlohmann::json(data.std).dump());
  w.meta("channels", channels.dump());
  w.meta("quantization", quant.dump());
  return w.bytes();
}

}  // namespace whittle::runtime::torchrt
