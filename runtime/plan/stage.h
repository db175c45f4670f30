// The stage contract: what a runner is given for one stage (StageJob), how it reports progress, and
// how it fails (StageError, with help for the user). The executors (exec/) hand stages to a runner;
// the LibTorch module (torch/) is one; tests use fakes.
#pragma once
#include <map>
#include <stdexcept>
#include <string>

#include "runtime/plan/plan.h"

namespace whittle::runtime {

/// Thrown by a runner for a problem with the stage (bad data, NaN loss, a shape mismatch).
struct StageError : std::runtime_error {
  StageError(const std::string& what, std::string help_text = {})
      : std::runtime_error(what), help(std::move(help_text)) {}
  std::string help;
};

/// Progress reporting: the executor and runners call these; the CLI draws them.
struct Progress {
  virtual ~Progress() = default;
  virtual void stage_started(const lang::StageInstance& s, const std::string& reason) {}
  /// epoch/epochs, batch/batches, running loss and accuracy, seconds elapsed in the stage.
  virtual void step(int epoch, int epochs, int batch, int batches, double loss, double accuracy, double seconds) {}
  virtual void stage_finished(const lang::StageInstance& s, bool ran, double seconds) {}
  virtual void message(const std::string& text) {}
};

/// What a runner gets for one stage.
struct StageJob {
  const Plan& plan;
  const lang::StageInstance& stage;
  std::string key;
  std::string out_dir;      ///< write the stage's files here (it becomes the cache entry)
  std::string partial_dir;  ///< epoch checkpoints survive here until the stage finishes
  /// The entry folder of every stage finished so far (inputs, the train a retrain rewinds to, ...).
  const std::map<int, std::string>& entries;
  std::map<std::string, double> metrics;  ///< filled by the runner
  Progress& progress;
  std::string device = "cpu";  ///< where the stage actually ran (cpu, cuda): set by the runner
};

class StageRunner {
 public:
  virtual ~StageRunner() = default;
  virtual void run(StageJob& job) = 0;
};

}  // namespace whittle::runtime
