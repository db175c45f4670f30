// The Slurm executor (`whittle run --executor slurm`): the same stage graph, run as cluster jobs over
// a shared cache instead of in this process. Every stage that is not cached becomes one `sbatch` job
// running `whittle run-stage RECIPE --key KEY`, with `--dependency=afterok:` on the jobs of its
// inputs (so independent branches run in parallel) and `--kill-on-invalid-dep=yes` (so a failed
// job's dependants are cancelled, not left pending). The jobs are followed with squeue and scontrol
// (no slurmdbd needed), and the result is the same as a local run's: outcomes read from the cache.
// Slurm schedules; whittle never does. A search is decided here, on the submitting machine: once the
// jobs before it are done, the candidates its strategy names are jobs of their own, `--jobs` at a
// time; the search's own job then finds them cached and writes the decision.
#pragma once
#include <string>
#include <vector>

#include "runtime/exec/executor.h"

namespace whittle::runtime {

struct SlurmOptions {
  std::string whittle;            ///< the `whittle` the jobs run (an absolute path on the shared file system)
  std::string recipe;             ///< absolute path
  std::vector<std::string> sets;  ///< --set NAME=VALUE, passed on to every job
  int threads = 1;                ///< per job: `--threads` and `--cpus-per-task`
  std::string partition, gres, time, account;
  std::vector<std::string> sbatch_args;  ///< more `sbatch` options, as given
  double poll_seconds = 2;
  int jobs = 1;  ///< a search's candidates submitted at a time (`--jobs`)
};

/// Submits the plan's stale stages, follows their jobs to the end, and returns what `execute`
/// would: an outcome per stage that finished or was cached (a job's id in its metrics as
/// `slurm_job`), and an R0005 diagnostic per failed, cancelled or unsubmittable job, with its job
/// id, stage, recipe line and the end of its output.
ExecResult execute_slurm(const Plan& plan, ArtifactStore& store, const SlurmOptions& options, Progress& progress);

}  // namespace whittle::runtime
