// Epoch checkpoints and deterministic optimizer state (checkpoint.h).
#include "runtime/torch/training/checkpoint.h"
#include "runtime/torch/compression/model_file.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>

#include "lang/files.h"
#include "runtime/cache/store.h"
#include "runtime/plan/stage.h"
#include "runtime/system/atomic_file.h"
#include "runtime/system/sha256.h"
#include "runtime/torch/models/tensor_file.h"

namespace whittle::runtime::torchrt {
namespace fs = std::filesystem;

namespace {

constexpr int kStateFormat = 1;
constexpr std::uintmax_t kMaxStateBytes = 256u << 20;

std::string state_name(int epoch) { return fmt::format("state-{}.json", epoch); }

/// Why a state file cannot be resumed from, or empty.
std::string check_state(const std::string& dir, const std::string& name, int epochs, EpochState& s) {
  std::string error;
  auto text = lang::read_regular_file(dir + "/" + name, kMaxStateBytes, error);
  if (!text) return error;
  try {
    const auto j = nlohmann::json::parse(*text);
    if (j.at("format").get<int>() != kStateFormat) return "it is of another format";
    s.epoch = j.at("epoch").get<int>();
    if (j.at("epochs").get<int>() != epochs || s.epoch < 1 || s.epoch > epochs || name != state_name(s.epoch))
      return fmt::format("it says epoch {} of {}, and the stage runs {}", s.epoch, j.at("epochs").get<int>(), epochs);
    s.log = j.at("log").get<std::string>();
    s.history = j.at("history").get<std::string>();
    if (!j.at("loss").is_null()) s.loss = j.at("loss").get<double>();
    if (!j.at("accuracy").is_null()) s.accuracy = j.at("accuracy").get<double>();
    s.files = j.at("files").get<std::map<std::string, std::string>>();
  } catch (const std::exception& e) {
    return fmt::format("it is malformed ({})", e.what());
  }
  if (!s.files.count(s.model_file()) || !s.files.count(s.optim_file())) return "it names no model for its epoch";
  for (const auto& [file, sum] : s.files) {
    if (file.find('/') != std::string::npos) return fmt::format("it names `{}`, outside its folder", file);
    auto have = sha256_file(dir + "/" + file);
    if (!have) return fmt::format("`{}` is missing or unreadable", file);
    if (*have != sum) return fmt::format("`{}` does not match its checksum", file);
  }
  return "";
}

}  // namespace

namespace {

/// The optimizer's kind: SGD, Adam and AdamW are what `train` makes (fit.cc). Its file names the
/// family of its state (AdamW's is Adam's).
std::string kind_of(torch::optim::Optimizer& opt) {
  if (dynamic_cast<torch::optim::SGD*>(&opt)) return "sgd";
  if (dynamic_cast<torch::optim::AdamW*>(&opt)) return "adamw";
  if (dynamic_cast<torch::optim::Adam*>(&opt)) return "adam";
  throw std::logic_error("an optimizer whittle does not checkpoint");
}

nlohmann::json options_json(const std::string& kind, torch::optim::OptimizerOptions& o) {
  if (kind == "sgd") {
    auto& s = static_cast<torch::optim::SGDOptions&>(o);
    return {{"lr", s.lr()},
            {"momentum", s.momentum()},
            {"dampening", s.dampening()},
            {"weight_decay", s.weight_decay()},
            {"nesterov", s.nesterov()}};
  }
  auto adam = [](auto& a) {
    return nlohmann::json{{"lr", a.lr()},   {"beta1", std::get<0>(a.betas())},  {"beta2", std::get<1>(a.betas())},
                          {"eps", a.eps()}, {"weight_decay", a.weight_decay()}, {"amsgrad", a.amsgrad()}};
  };
  return kind == "adam" ? adam(static_cast<torch::optim::AdamOptions&>(o))
                        : adam(static_cast<torch::optim::AdamWOptions&>(o));
}

void set_options(const std::string& kind, torch::optim::OptimizerOptions& o, const nlohmann::json& j) {
  if (kind == "sgd") {
    auto& s = static_cast<torch::optim::SGDOptions&>(o);
    s.lr(j.at("lr").get<double>()).momentum(j.at("momentum").get<double>()).dampening(j.at("dampening").get<double>());
    s.weight_decay(j.at("weight_decay").get<double>()).nesterov(j.at("nesterov").get<bool>());
    return;
  }
  auto adam = [&](auto& a) {
    a.lr(j.at("lr").get<double>()).betas(std::make_tuple(j.at("beta1").get<double>(), j.at("beta2").get<double>()));
    a.eps(j.at("eps").get<double>())
        .weight_decay(j.at("weight_decay").get<double>())
        .amsgrad(j.at("amsgrad").get<bool>());
  };
  if (kind == "adam")
    adam(static_cast<torch::optim::AdamOptions&>(o));
  else
    adam(static_cast<torch::optim::AdamWOptions&>(o));
}

/// The tensors of one parameter's state, by field name (undefined ones left out), and its step.
std::vector<std::pair<std::string, torch::Tensor*>> state_tensors(const std::string& kind,
                                                                  torch::optim::OptimizerParamState& st,
                                                                  std::int64_t** step) {
  *step = nullptr;
  if (kind == "sgd") {
    auto& s = static_cast<torch::optim::SGDParamState&>(st);
    return {{"momentum_buffer", &const_cast<torch::Tensor&>(s.momentum_buffer())}};
  }
  auto adam = [&](auto& a) -> std::vector<std::pair<std::string, torch::Tensor*>> {
    *step = &const_cast<std::int64_t&>(a.step());
    return {{"exp_avg", &const_cast<torch::Tensor&>(a.exp_avg())},
            {"exp_avg_sq", &const_cast<torch::Tensor&>(a.exp_avg_sq())},
            {"max_exp_avg_sq", &const_cast<torch::Tensor&>(a.max_exp_avg_sq())}};
  };
  return kind == "adam" ? adam(static_cast<torch::optim::AdamParamState&>(st))
                        : adam(static_cast<torch::optim::AdamWParamState&>(st));
}

std::string family_of(const std::string& kind) { return kind == "adamw" ? "adam" : kind; }

std::unique_ptr<torch::optim::OptimizerParamState> fresh_state(const std::string& kind) {
  if (kind == "sgd") return std::make_unique<torch::optim::SGDParamState>();
  if (kind == "adamw") return std::make_unique<torch::optim::AdamWParamState>();
  return std::make_unique<torch::optim::AdamParamState>();
}

}  // namespace

namespace {
/// epoch-3.safetensors → epoch-3.PART.safetensors.
std::string companion_of(const std::string& model_file, const char* part) {
  const std::string ext = kModelExtension;
  const std::string stem =
      model_file.size() > ext.size() && model_file.compare(model_file.size() - ext.size(), ext.size(), ext) == 0
          ? model_file.substr(0, model_file.size() - ext.size())
          : model_file;
  return stem + "." + part + ext;
}
}  // namespace

std::string optim_file_of(const std::string& model_file) { return companion_of(model_file, "optim"); }
std::string average_file_of(const std::string& model_file) { return companion_of(model_file, "average"); }

std::string optimizer_bytes(torch::optim::Optimizer& opt) {
  // A safetensors file: each parameter's state tensors as `param.I.FIELD` (I its position in its
  // groups, never its address, so two identical runs write the same bytes); the groups' options and
  // the step counts as metadata.
  const std::string kind = kind_of(opt);
  safetensors::Writer w;
  nlohmann::json groups = nlohmann::json::array(), steps = nlohmann::json::object();
  std::int64_t index = 0;
  for (auto& group : opt.param_groups()) {
    groups.push_back(options_json(kind, group.options()));
    for (const auto& p : group.params()) {
      auto it = opt.state().find(c10::guts::to_string(p.unsafeGetTensorImpl()));
      if (it != opt.state().end()) {
        std::int64_t* step = nullptr;
        for (const auto& [field, t] : state_tensors(kind, *it->second, &step))
          if (t->defined()) add_tensor(w, fmt::format("param.{}.{}", index, field), *t);
        steps[std::to_string(index)] = step ? *step : 0;
      }
      ++index;
    }
  }
  w.meta("format", kOptimizerFileFormat);
  w.meta("optimizer", family_of(kind));
  w.meta("groups", groups.dump());
  w.meta("state", steps.dump());
  return w.bytes();
}

void load_optimizer_bytes(torch::optim::Optimizer& opt, const std::string& bytes, torch::Device dev) {
  const std::string kind = kind_of(opt);
  const safetensors::File f = safetensors::parse(bytes);
  if (f.meta("format") != std::string(kOptimizerFileFormat) || f.meta("optimizer") != family_of(kind))
    throw StageError(fmt::format("it holds the state of `{}` ({}), and the stage trains with `{}`", f.meta("optimizer"),
                                 f.meta("format"), kind));
  const auto groups = nlohmann::json::parse(f.meta("groups", "[]"));
  const auto steps = nlohmann::json::parse(f.meta("state", "{}"));
  if (!groups.is_array() || groups.size() != opt.param_groups().size() || !steps.is_object())
    throw StageError(
        fmt::format("it has {} parameter groups, and the optimizer {}", groups.size(), opt.param_groups().size()));
  std::int64_t index = 0;
  opt.state().clear();
  for (std::size_t g = 0; g < opt.param_groups().size(); ++g) {
    auto& group = opt.param_groups()[g];
    set_options(kind, group.options(), groups[g]);
    for (const auto& p : group.params()) {
      const std::string i = std::to_string(index++);
      if (!steps.contains(i)) continue;
      auto state = fresh_state(kind);
      std::int64_t* step = nullptr;
      for (const auto& [field, t] : state_tensors(kind, *state, &step)) {
        torch::Tensor v = read_tensor(f, fmt::format("param.{}.{}", i, field));
        if (!v.defined()) continue;
        if (v.sizes() != p.sizes())
          throw StageError(fmt::format("its `{}` of parameter {} is {} where the parameter is {}", field, i,
                                       fmt::join(v.sizes().vec(), "×"), fmt::join(p.sizes().vec(), "×")));
        *t = v.to(dev, p.scalar_type());
      }
      if (step) *step = steps.at(i).get<std::int64_t>();
      opt.state()[c10::guts::to_string(p.unsafeGetTensorImpl())] = std::move(state);
    }
  }
}

void load_optimizer_file(torch::optim::Optimizer& opt, const std::string& path, torch::Device dev) {
  std::string error;
  auto bytes = lang::read_regular_file(path, safetensors::Limits{}.max_file, error);
  if (!bytes) throw StageError(error);
  try {
    load_optimizer_bytes(opt, *bytes, dev);
  } catch (const StageError& e) {
    throw StageError(fmt::format("`{}` is no optimizer state of this stage: {}", path, e.what()), e.help);
  } catch (const std::exception& e) {  // a file that is no safetensors file, malformed metadata
    throw StageError(fmt::format("`{}` is no optimizer state of this stage: {}", path, e.what()),
                     "the file is damaged or was not written by this whittle; remove the entry and run again");
  }
}

EpochState EpochCheckpoints::resume(std::string& note) const {
  std::vector<int> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string n = e.path().filename().string();
    int k = 0;
    if (std::sscanf(n.c_str(), "state-%d.json", &k) == 1 && n == state_name(k)) found.push_back(k);
  }
  std::sort(found.rbegin(), found.rend());
  for (int k : found) {
    EpochState s;
    const std::string why = check_state(dir_, state_name(k), epochs_, s);
    if (why.empty()) {
      if (k != found.front()) note += fmt::format("; resuming from the checkpoint of epoch {}, the last good one", k);
      return s;
    }
    note += fmt::format("{}the checkpoint of epoch {} in {} is damaged: {}", note.empty() ? "" : "; ", k, dir_, why);
  }
  if (!note.empty()) note += "; the stage starts again from its first epoch";
  // A fresh start: nothing from before (a damaged state, a kill before the first epoch) is kept.
  for (const auto& e : fs::directory_iterator(dir_, ec)) remove_tree(e.path().string());
  return EpochState{};
}

void EpochCheckpoints::commit(EpochState& s, const Net& net, torch::optim::Optimizer& opt, const std::string& snapshot,
                              const std::string& average) {
  const std::string model = net_bytes(net), optim = optimizer_bytes(opt);
  write_file_atomic(path(s.model_file()), model);
  write_file_atomic(path(s.optim_file()), optim);
  if (!average.empty()) write_file_atomic(path(average_file_of(s.model_file())), average);
  // Only the files of the epoch itself and the snapshots: the epoch before is named by its own state.
  std::map<std::string, std::string> files;
  for (const auto& [f, sum] : s.files)
    if (f.rfind("snapshot-", 0) == 0) files[f] = sum;
  files[s.model_file()] = sha256_hex(model);
  files[s.optim_file()] = sha256_hex(optim);
  if (!average.empty()) files[average_file_of(s.model_file())] = sha256_hex(average);
  if (!snapshot.empty()) {
    const std::string optim_snapshot = optim_file_of(snapshot);
    write_file_atomic(path(snapshot), model);
    write_file_atomic(path(optim_snapshot), optim);
    files[snapshot] = files[s.model_file()];
    files[optim_snapshot] = files[s.optim_file()];
    if (!average.empty()) {
      write_file_atomic(path(average_file_of(snapshot)), average);
      files[average_file_of(snapshot)] = files[average_file_of(s.model_file())];
    }
  }
  // The state before this one stays as a fallback (its files are those `s` named until now);
  // anything older goes, with the files only it named.
  std::set<std::string> keep = {state_name(s.epoch), state_name(s.epoch - 1)};
  for (const auto& [f, sum] : s.files) keep.insert(f);
  for (const auto& [f, sum] : files) keep.insert(f);
  s.files = files;
  nlohmann::json j = {{"format", kStateFormat},
                      {"epoch", s.epoch},
                      {"epochs", epochs_},
                      {"log", s.log},
                      {"history", s.history},
                      {"loss", std::isnan(s.loss) ? nlohmann::json(nullptr) : nlohmann::json(s.loss)},
                      {"accuracy", std::isnan(s.accuracy) ? nlohmann::json(nullptr) : nlohmann::json(s.accuracy)},
                      {"files", s.files}};
  write_file_atomic(path(state_name(s.epoch)), j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string n = e.path().filename().string();
    if ((n.rfind("state-", 0) == 0 || n.rfind("epoch-", 0) == 0) && !keep.count(n)) fs::remove(e.path(), ec);
  }
}

}  // namespace whittle::runtime::torchrt
