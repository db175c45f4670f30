// What a run produced, for people: the run table `whittle run` prints, and the report (results
// tables in markdown and CSV, plots drawn by gnuplot) that `whittle report` writes and
// `whittle submit` packs. The metrics' names and formats come from runtime/plan/metrics.h.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "runtime/cache/store.h"
#include "runtime/plan/plan.h"
#include "runtime/plan/record.h"
#include "runtime/report/run.h"

namespace whittle::runtime {

/// The table `whittle run` prints: a row per stage, then every `score` stage's report and every
/// sensitivity scan's table from its cache entry.
std::string run_table(const Plan& p, const RunRecord& r, const ArtifactStore& store);

struct ReportOutcome {
  std::string markdown;               ///< the results table
  std::vector<std::string> drawn;     ///< plots drawn (NAME.png, NAME.svg, NAME.gp)
  std::string problem;                ///< why plots are missing (no gnuplot, gnuplot failed); empty if none
  std::vector<std::string> warnings;  ///< what gnuplot said while drawing (none expected)
};
/// Writes results.md, results.csv and the plots into `dir` (which exists). The per-model plots
/// (sparsity per layer, weight histograms) are of the model named `as model` in each run, or with
/// no name of the model a submission packs (its last stage's).
ReportOutcome write_report(const std::vector<Run>& runs, const std::filesystem::path& dir,
                           const std::string& model = "");

}  // namespace whittle::runtime
