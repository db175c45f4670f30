// Epoch checkpoints of a train or retrain in progress, so that a killed run resumes where it was and
// ends exactly as an uninterrupted one.
//
// Each epoch writes its model and optimizer under new names (epoch-N.safetensors, epoch-N.optim.safetensors:
// data, runtime/system/safetensors.h), then one
// state file, state-N.json, renamed into place last: it names every file it describes with its
// SHA-256, and carries the stage's log lines, evaluation rows and last training loss. A kill at any
// moment leaves the previous state whole; the files of the state before it are removed only after
// the new state is in place. On resume the newest state whose files all check out wins; a damaged
// one is reported and the one before it used, else the stage restarts from its start.
#pragma once
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>

#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

/// The optimizer's state as bytes, keyed by each parameter's position in its groups (LibTorch's own
/// archive keys it by tensor address, so two identical runs would write different bytes).
std::string optimizer_bytes(torch::optim::Optimizer& opt);
/// Restores what optimizer_bytes wrote into an optimizer over the same parameters (SGD, Adam, AdamW).
void load_optimizer_bytes(torch::optim::Optimizer& opt, const std::string& bytes, torch::Device dev);
/// Reads the file at `path` and restores it (a cache entry's snapshot-K.optim.safetensors).
void load_optimizer_file(torch::optim::Optimizer& opt, const std::string& path, torch::Device dev);

/// Models and optimizer states are safetensors files: `NAME.safetensors` and `NAME.optim.safetensors`.
inline constexpr const char* kModelExtension = ".safetensors";
/// The optimizer state saved beside a model file: epoch-3.safetensors → epoch-3.optim.safetensors.
std::string optim_file_of(const std::string& model_file);
/// The weight average saved beside a model file (a stage with `average:`): epoch-3.average.safetensors.
std::string average_file_of(const std::string& model_file);

struct EpochState {
  int epoch = 0;                                        ///< epochs done
  std::string log;                                      ///< the stage's log lines so far
  std::string history;                                  ///< evaluation rows so far (epoch,split,loss,accuracy)
  double loss = std::nan(""), accuracy = std::nan("");  ///< of the last epoch trained
  std::map<std::string, std::string> files;  ///< file name → SHA-256: the epoch's model and optimizer, snapshots
  std::string model_file() const { return "epoch-" + std::to_string(epoch) + kModelExtension; }
  std::string optim_file() const { return optim_file_of(model_file()); }
};

class EpochCheckpoints {
 public:
  EpochCheckpoints(std::string dir, int epochs) : dir_(std::move(dir)), epochs_(epochs) {}

  /// The newest state whose files all verify, or a fresh one (epoch 0, the folder emptied). `note`
  /// says what was found damaged and where the stage goes on from.
  EpochState resume(std::string& note) const;

  /// Writes epoch `s.epoch`'s model and optimizer (and `average`, the bytes of its weight average,
  /// when not empty), and `snapshot` (a file name, or empty) as the same, then the state that names
  /// them; then drops the files no kept state names.
  void commit(EpochState& s, const Net& net, torch::optim::Optimizer& opt, const std::string& snapshot,
              const std::string& average = "");

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
  int epochs_;
};

}  // namespace whittle::runtime::torchrt
