// Saving, loading and copying models (model_file.h).
#include "runtime/torch/compression/model_file.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>

#include "runtime/cache/store.h"
#include "runtime/plan/stage.h"
#include "runtime/system/atomic_file.h"
#include "runtime/torch/compression/int8.h"
#include "runtime/torch/compression/quant.h"
#include "runtime/torch/data/data.h"
#include "runtime/torch/models/layers.h"
#include "runtime/torch/models/tensor_file.h"

namespace whittle::runtime::torchrt {

namespace {

/// A net's quantizers, precision and int8 plan, as save_net stores them.
nlohmann::json meta_of(const Net& net) {
  nlohmann::json meta = {{"half", net.half}, {"quant", nlohmann::json::object()}};
  if (!net.int8.empty()) meta["int8"] = nlohmann::json::parse(net.int8);
  for (const auto& l : net.layers())
    if (l.layer->quant) meta["quant"][l.name] = spec_of(*l.layer->quant);
  return meta;
}

}  // namespace

std::string net_bytes(const Net& net) {
  // A safetensors file (runtime/system/safetensors.h): data that reading never executes. What is not a
  // tensor (the quantizers of the layers that have one, half precision, the int8 plan) is its
  // metadata. Tensors are CPU tensors in the standard layout, whatever device or memory format
  // trained them; written into memory, then by whittle's atomic writer.
  safetensors::Writer w;
  w.meta("format", kModelFileFormat);
  w.meta("whittle", meta_of(net).dump());
  for (const auto& p : net.module->named_parameters()) add_tensor(w, "p." + p.key(), p.value());
  for (const auto& b : net.module->named_buffers()) add_tensor(w, "b." + b.key(), b.value());
  for (const auto& [k, m] : net.masks) add_tensor(w, "m." + k, m);
  return w.bytes();
}

void save_net(const Net& net, const std::string& path) { write_file_atomic(path, net_bytes(net)); }

namespace {

/// Brings `net` to a saved state: `meta` (half precision, int8 plan, quantizers) and every tensor
/// `read` finds by its archive key ("p.NAME", "b.NAME", "m.NAME"). Tensors of another shape (a
/// physically slimmed layer) replace the net's, and the net is profiled again.
void restore(Net& net, const nlohmann::json* meta,
             const std::function<bool(const std::string&, torch::Tensor&)>& read) {
  torch::NoGradGuard guard;
  if (meta) {
    net.half = meta->value("half", false);
    net.int8 = meta->contains("int8") ? meta->at("int8").dump() : std::string();
    const auto quant = meta->value("quant", nlohmann::json::object());
    for (auto& l : net.layers())
      if (quant.is_object() && quant.contains(l.name))
        quantize_layer(*l.module, quant.at(l.name).get<QuantSpec>(), /*initialise=*/false);
  }
  bool reshaped = false;
  auto load = [&](const std::string& key, torch::Tensor& into) {
    torch::Tensor t;
    if (!read(key, t))
      throw StageError(fmt::format("the checkpoint has no `{}`", key.substr(2)),
                       "the model was saved by another architecture");
    if (t.sizes() == into.sizes()) {
      into.copy_(t);
    } else {  // a physically slimmed layer: the checkpoint's shape wins, never larger than the architecture's
      bool slimmer = t.dim() == into.dim();
      for (std::int64_t d = 0; slimmer && d < t.dim(); ++d) slimmer = t.size(d) <= into.size(d);
      if (!slimmer)
        throw StageError(
            fmt::format("the checkpoint's `{}` is {}, which the architecture's {} cannot have become by pruning",
                        key.substr(2), fmt::join(t.sizes().vec(), "×"), fmt::join(into.sizes().vec(), "×")),
            "the model was saved by another architecture");
      into.set_data(t.to(into.device(), into.scalar_type()).clone());
      reshaped = true;
    }
  };
  for (auto& p : net.module->named_parameters()) load("p." + p.key(), p.value());
  for (auto& b : net.module->named_buffers()) load("b." + b.key(), b.value());
  net.masks.clear();
  net.masks_changed();
  for (const auto& p : net.module->named_parameters()) {
    torch::Tensor m;
    if (read("m." + p.key(), m)) net.masks[p.key()] = m.to(p.value().device()).clone();
  }
  if (reshaped) {
    sync_options(*net.module);
    profile(*net.module, {net.module->in_channels, net.module->in_height, net.module->in_width, 0});
  }
  apply_int8(net);  // the int8 kernels are rebuilt from the float weights and the stored plan
}

}  // namespace

void load_net(Net& net, const std::string& path) {
  safetensors::File f;
  try {
    f = safetensors::read_file(path);
  } catch (const safetensors::FormatError& e) {
    throw StageError(e.what(),
                     "the file is damaged or was not written by this whittle; remove the entry and run again");
  }
  if (f.meta("format") != std::string(kModelFileFormat))
    throw StageError(fmt::format("`{}` is not a whittle model (its format is `{}`, this whittle writes `{}`)", path,
                                 f.meta("format"), kModelFileFormat));
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(f.meta("whittle", "{}"));
    if (!meta.is_object()) throw std::invalid_argument("not an object");
  } catch (const std::exception& e) {
    throw StageError(fmt::format("`{}` has malformed metadata: {}", path, e.what()));
  }
  try {
    restore(net, &meta, [&](const std::string& key, torch::Tensor& t) {
      t = read_tensor(f, key);
      return t.defined();
    });
  } catch (const StageError&) {
    throw;
  } catch (const std::exception& e) {  // a quantizer or int8 plan the net cannot take
    throw StageError(fmt::format("`{}` does not fit the model: {}", path, e.what()));
  }
}

namespace {

/// The same tensors (names, shapes, types) and the same quantizers, precision and int8 plan.
bool same_structure(const Net& a, const Net& b, const nlohmann::json& meta_b) {
  auto same = [](const torch::OrderedDict<std::string, torch::Tensor>& x,
                 const torch::OrderedDict<std::string, torch::Tensor>& y) {
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (x[i].key() != y[i].key() || x[i].value().sizes() != y[i].value().sizes() ||
          x[i].value().scalar_type() != y[i].value().scalar_type())
        return false;
    return true;
  };
  return meta_of(a) == meta_b && same(a.module->named_parameters(), b.module->named_parameters()) &&
         same(a.module->named_buffers(), b.module->named_buffers());
}

}  // namespace

Net copy_net(const Plan& plan, int stage_id, const Net& src, std::optional<Net> reuse) {
  const nlohmann::json meta = meta_of(src);
  Net net;
  if (reuse && same_structure(*reuse, src, meta)) {
    net = std::move(*reuse);
  } else {
    const lang::StageInstance& m = plan.chain_model(stage_id);
    net = build_model(m, dataset_shape(plan.stage(m.data_in)), 0);
  }
  const auto params = src.module->named_parameters(), buffers = src.module->named_buffers();
  restore(net, &meta, [&](const std::string& key, torch::Tensor& t) {
    const std::string name = key.substr(2);
    const torch::Tensor* found = key[0] == 'p' ? params.find(name) : key[0] == 'b' ? buffers.find(name) : nullptr;
    if (key[0] == 'm') {
      auto it = src.masks.find(name);
      if (it != src.masks.end()) found = &it->second;
    }
    if (!found) return false;
    t = found->detach();
    return true;
  });
  return net;
}

Net load_stage_model(const Plan& plan, int stage_id, const std::string& entry_dir) {
  const lang::StageInstance& m = plan.chain_model(stage_id);
  Net net = build_model(m, dataset_shape(plan.stage(m.data_in)), 0);
  load_net(net, (std::filesystem::path(entry_dir) / kModelFile).string());
  return net;
}

}  // namespace whittle::runtime::torchrt
