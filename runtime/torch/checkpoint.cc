// Epoch checkpoints and deterministic optimizer state (checkpoint.h).
#include "runtime/torch/checkpoint.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "lang/files.h"
#include "runtime/atomic_file.h"
#include "runtime/executor.h"
#include "runtime/sha256.h"
#include "runtime/store.h"

namespace whittle::runtime::torchrt {
namespace fs = std::filesystem;

namespace {

constexpr int kStateFormat = 1;
constexpr std::uintmax_t kMaxStateBytes = 256u << 20;

/// A new state of the optimizer's kind, to read a saved one into.
std::unique_ptr<torch::optim::OptimizerParamState> fresh_state(torch::optim::Optimizer& opt) {
  if (dynamic_cast<torch::optim::SGD*>(&opt)) return std::make_unique<torch::optim::SGDParamState>();
  if (dynamic_cast<torch::optim::AdamW*>(&opt)) return std::make_unique<torch::optim::AdamWParamState>();
  if (dynamic_cast<torch::optim::Adam*>(&opt)) return std::make_unique<torch::optim::AdamParamState>();
  throw std::logic_error("an optimizer whittle does not checkpoint");
}

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

std::string optimizer_bytes(torch::optim::Optimizer& opt) {
  torch::serialize::OutputArchive a;
  std::int64_t index = 0;
  for (std::size_t g = 0; g < opt.param_groups().size(); ++g) {
    auto& group = opt.param_groups()[g];
    torch::serialize::OutputArchive options;
    group.options().serialize(options);
    a.write(fmt::format("group.{}", g), options);
    for (const auto& p : group.params()) {
      auto it = opt.state().find(c10::guts::to_string(p.unsafeGetTensorImpl()));
      if (it != opt.state().end()) {
        torch::serialize::OutputArchive st;
        it->second->serialize(st);
        a.write(fmt::format("param.{}", index), st);
      }
      ++index;
    }
  }
  std::ostringstream out;
  a.save_to(out);
  return out.str();
}

void load_optimizer_bytes(torch::optim::Optimizer& opt, const std::string& bytes, torch::Device dev) {
  std::istringstream in(bytes);
  torch::serialize::InputArchive a;
  a.load_from(in, dev);
  std::int64_t index = 0;
  opt.state().clear();
  for (std::size_t g = 0; g < opt.param_groups().size(); ++g) {
    auto& group = opt.param_groups()[g];
    torch::serialize::InputArchive options;
    if (a.try_read(fmt::format("group.{}", g), options)) group.options().serialize(options);
    for (const auto& p : group.params()) {
      torch::serialize::InputArchive st;
      if (a.try_read(fmt::format("param.{}", index), st)) {
        auto state = fresh_state(opt);
        state->serialize(st);
        opt.state()[c10::guts::to_string(p.unsafeGetTensorImpl())] = std::move(state);
      }
      ++index;
    }
  }
}

void load_optimizer_file(torch::optim::Optimizer& opt, const std::string& path, torch::Device dev) {
  std::string error;
  auto bytes = lang::read_regular_file(path, std::uintmax_t{16} << 30, error);
  if (!bytes) throw StageError(error);
  load_optimizer_bytes(opt, *bytes, dev);
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

void EpochCheckpoints::commit(EpochState& s, const Net& net, torch::optim::Optimizer& opt, const std::string& snapshot) {
  const std::string model = net_bytes(net), optim = optimizer_bytes(opt);
  write_file_atomic(path(s.model_file()), model);
  write_file_atomic(path(s.optim_file()), optim);
  // Only the files of the epoch itself and the snapshots: the epoch before is named by its own state.
  std::map<std::string, std::string> files;
  for (const auto& [f, sum] : s.files)
    if (f.rfind("snapshot-", 0) == 0) files[f] = sum;
  files[s.model_file()] = sha256_hex(model);
  files[s.optim_file()] = sha256_hex(optim);
  if (!snapshot.empty()) {
    const std::string optim_snapshot = snapshot.substr(0, snapshot.size() - 3) + ".optim.pt";
    write_file_atomic(path(snapshot), model);
    write_file_atomic(path(optim_snapshot), optim);
    files[snapshot] = files[s.model_file()];
    files[optim_snapshot] = files[s.optim_file()];
  }
  // The state before this one stays as a fallback (its files are those `s` named until now);
  // anything older goes, with the files only it named.
  std::set<std::string> keep = {state_name(s.epoch), state_name(s.epoch - 1)};
  for (const auto& [f, sum] : s.files) keep.insert(f);
  for (const auto& [f, sum] : files) keep.insert(f);
  s.files = files;
  nlohmann::json j = {{"format", kStateFormat}, {"epoch", s.epoch}, {"epochs", epochs_}, {"log", s.log}, {"history", s.history},
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
