// Execution: stale stages in topological order on a StageRunner (LibTorch, or a fake in tests),
// each written to the store atomically under a lock; cached entries verified when loaded; a failing
// stage stops the run with the recipe line that caused it, keeping every finished stage.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lang/diagnostic.h"
#include "runtime/cache/store.h"
#include "runtime/plan/plan.h"
#include "runtime/plan/stage.h"

namespace whittle::runtime {

struct StageOutcome {
  int stage = 0;
  std::string status;  ///< ran, cached, failed
  double seconds = 0;
  std::map<std::string, double> metrics;
  std::string device;  ///< where its entry was computed (from the manifest)
};

struct ExecResult {
  std::vector<StageOutcome> outcomes;
  lang::Diagnostics diags;  ///< R0003 failures, R0004 corrupt entries
  bool ok = true;
};

/// Whether a stage's entry is in the cache and sound, for every executor: an entry is verified when
/// used, and a corrupt one is reported (R0004, at the stage's line), set aside and so recomputed.
bool cached_entry_sound(ArtifactStore& store, const std::string& key, const lang::StageInstance& stage,
                        lang::Diagnostics& diags);

/// How a run trains a search's candidates side by side (`whittle run --jobs N`): up to `jobs` at
/// once, each in its own `whittle run-stage --with-inputs` process of `threads` threads.
struct Parallel {
  int jobs = 1;
  std::string whittle, recipe, cache;  ///< the program, the recipe and the cache, as absolute paths
  std::vector<std::string> sets;       ///< the run's `--set` values
  int threads = 1;
};

/// Runs every stage of the plan that is not in the cache, in order; stops at the first failure.
/// With `only` ≥ 0, runs that one stage (or finds it cached) and nothing else: every stage it reads
/// must already be in the cache (what one Slurm job does, `whittle run-stage`); with `with_inputs`,
/// the stages it reads that are not cached run first (a search candidate's process).
ExecResult execute(const Plan& plan, ArtifactStore& store, StageRunner& runner, Progress& progress, int only = -1,
                   bool with_inputs = false, const Parallel* parallel = nullptr);

}  // namespace whittle::runtime
