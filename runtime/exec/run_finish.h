// Finishing a run: the run record (what ran, its metrics, the device each stage actually used, the
// versions), written atomically to the cache, and every `export` stage's file delivered to its path.
// The CLI prints what this returns.
#pragma once
#include <string>
#include <vector>

#include "runtime/exec/executor.h"
#include "runtime/plan/record.h"

namespace whittle::runtime {

/// The run record of an execution: every stage's status, metrics and the device it ran on; the
/// record's `device` is the devices the stages that ran in this execution used ("cpu", "cuda",
/// "cpu+cuda"; "none" when every stage was cached).
RunRecord execution_record(const Plan& plan, const ExecResult& result);

struct RunContext {
  std::string started;  ///< now_iso() when the run began
  int threads = 0;
  bool slurm = false;  ///< the record's device reads "slurm: ..."
};

struct FinishedRun {
  RunRecord record;
  std::vector<std::string> delivered;  ///< export paths written, with the parity of those read back
  std::vector<std::string> warnings;   ///< the record could not be written (the run itself stands)
  std::vector<std::string> errors;     ///< an export could not be delivered
  bool ok() const { return errors.empty(); }
};

/// Fills and writes the run record, then copies every finished `export` stage's file (kept in its
/// cache entry, so a cached export is delivered too) to its path, atomically.
FinishedRun finish_run(const Plan& plan, const ArtifactStore& store, const ExecResult& result,
                       const RunContext& context);

}  // namespace whittle::runtime
