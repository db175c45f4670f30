// What a run produced, for people: the run table `whittle run` prints, and the report (results
// tables in markdown and CSV, plots drawn by gnuplot) that `whittle report` writes and
// `whittle submit` packs. The metrics' names and formats come from runtime/metrics.h.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "runtime/plan.h"
#include "runtime/record.h"
#include "runtime/store.h"

namespace whittle::runtime {

/// One recipe's last run, with the plan that tells what its stages were.
struct Run {
  std::unique_ptr<ArtifactStore> store;
  std::unique_ptr<Plan> plan;
  RunRecord record;
  /// The plan's stage `s.id` is the one that ran (the recipe and its --set values are unchanged).
  bool same(const StageRecord& s) const;
};

/// The table `whittle run` prints: a row per stage, then every `score` stage's report and every
/// sensitivity scan's table from its cache entry.
std::string run_table(const Plan& p, const RunRecord& r, const ArtifactStore& store);

struct ReportOutcome {
  std::string markdown;             ///< the results table
  std::vector<std::string> drawn;   ///< plots drawn (NAME.png, NAME.svg, NAME.gp)
  std::string problem;              ///< why plots are missing (no gnuplot, gnuplot failed); empty if none
};
/// Writes results.md, results.csv and the plots into `dir` (which exists).
ReportOutcome write_report(const std::vector<Run>& runs, const std::filesystem::path& dir);

/// A stage as the report names it: a measuring stage (evaluate, score) by the stage whose model it
/// measured, a sweep branch with its values.
std::string report_label(const Run& r, const StageRecord& s);

}  // namespace whittle::runtime
