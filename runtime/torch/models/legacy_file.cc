// Converting format-2 checkpoints (legacy_file.h).
#include "runtime/torch/models/legacy_file.h"

#include <torch/torch.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/system/atomic_file.h"
#include "runtime/torch/models/tensor_file.h"

namespace whittle::runtime::torchrt {

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

/// The keys of an archive level, without the module flag every archive carries.
std::vector<std::string> keys_of(torch::serialize::InputArchive& a) {
  std::vector<std::string> keys;
  for (auto& k : a.keys())
    if (k != "training") keys.push_back(k);
  return keys;
}

/// A model: `meta` (its JSON as a byte tensor) and the `p.`, `b.`, `m.` tensors, as models.cc writes
/// them now.
std::string model_file(torch::serialize::InputArchive& a) {
  safetensors::Writer w;
  w.meta("format", kModelFileFormat);
  for (const auto& k : keys_of(a)) {
    torch::Tensor t;
    if (!a.try_read(k, t)) throw std::runtime_error(fmt::format("its `{}` is not a tensor", k));
    if (k == "meta") {
      const auto c = t.contiguous();
      w.meta("whittle", std::string(reinterpret_cast<const char*>(c.data_ptr<std::uint8_t>()),
                                    static_cast<std::size_t>(c.numel())));
    } else {
      add_tensor(w, k, t);
    }
  }
  return w.bytes();
}

nlohmann::json value_json(const c10::IValue& v) {
  if (v.isDouble()) return v.toDouble();
  if (v.isInt()) return v.toInt();
  if (v.isBool()) return v.toBool();
  throw std::runtime_error(fmt::format("an option of type {}", v.tagKind()));
}

/// An optimizer's state: `group.G` archives of options and `param.I` archives of each parameter's
/// state (tensors and a step count), as checkpoint.cc writes them now.
std::string optimizer_file(torch::serialize::InputArchive& a) {
  safetensors::Writer w;
  std::map<int, nlohmann::json> groups;
  nlohmann::json steps = nlohmann::json::object();
  std::string family = "sgd";
  for (const auto& k : keys_of(a)) {
    torch::serialize::InputArchive sub;
    if (!a.try_read(k, sub)) throw std::runtime_error(fmt::format("its `{}` is not a group or a parameter's state", k));
    int index = -1;
    if (std::sscanf(k.c_str(), "group.%d", &index) == 1) {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& name : keys_of(sub)) {
        c10::IValue v;
        if (!sub.try_read(name, v)) continue;
        if (name == "betas" && v.isTuple() && v.toTuple()->elements().size() == 2) {
          o["beta1"] = v.toTuple()->elements()[0].toDouble();
          o["beta2"] = v.toTuple()->elements()[1].toDouble();
          family = "adam";
        } else {
          o[name] = value_json(v);
        }
      }
      groups[index] = o;
    } else if (std::sscanf(k.c_str(), "param.%d", &index) == 1) {
      std::int64_t step = 0;
      for (const auto& name : keys_of(sub)) {
        c10::IValue v;
        if (!sub.try_read(name, v)) continue;
        if (v.isTensor()) {
          if (v.toTensor().defined()) add_tensor(w, fmt::format("param.{}.{}", index, name), v.toTensor());
        } else if (v.isInt()) {
          step = v.toInt();
        }
      }
      steps[std::to_string(index)] = step;
    } else {
      throw std::runtime_error(fmt::format("its `{}` is no part of an optimizer's state", k));
    }
  }
  nlohmann::json list = nlohmann::json::array();
  for (auto& [i, o] : groups) {
    if (i != static_cast<int>(list.size())) throw std::runtime_error("its groups are not numbered in order");
    list.push_back(o);
  }
  w.meta("format", kOptimizerFileFormat);
  w.meta("optimizer", family);
  w.meta("groups", list.dump());
  w.meta("state", steps.dump());
  return w.bytes();
}

}  // namespace

void upgrade_legacy_file(const std::string& from, const std::string& to) {
  torch::serialize::InputArchive a;
  try {
    a.load_from(from);
  } catch (const c10::Error& e) {
    throw std::runtime_error(fmt::format("`{}` is no LibTorch archive: {}", from, e.what_without_backtrace()));
  }
  std::string bytes;
  try {
    bytes = ends_with(from, ".optim.pt") ? optimizer_file(a) : model_file(a);
  } catch (const c10::Error& e) {
    throw std::runtime_error(fmt::format("`{}`: {}", from, e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("`{}` is no checkpoint of a format-2 cache: {}", from, e.what()));
  }
  write_file_atomic(to, bytes);
}

}  // namespace whittle::runtime::torchrt
