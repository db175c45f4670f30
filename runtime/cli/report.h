// `whittle report`'s pieces, which `whittle submit` reuses: a recipe's last run, and the tables and
// plots written from runs.
#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/plan.h"
#include "runtime/record.h"
#include "runtime/store.h"

namespace whittle::cli {

/// One recipe's last run, with the plan that tells what its stages were.
struct Run {
  std::unique_ptr<runtime::ArtifactStore> store;
  std::unique_ptr<runtime::Plan> plan;
  runtime::RunRecord record;
  /// The plan's stage `s.id` is the one that ran (the recipe and its --set values are unchanged).
  bool same(const runtime::StageRecord& s) const;
};

/// The last run of a recipe, or of the recipe a run record (runs/NAME.yaml) names; problems are
/// printed and give nullopt.
std::optional<Run> load_run(const std::string& recipe_or_record, const std::vector<std::string>& sets, const std::string& cache);

struct ReportOutcome {
  std::string markdown;             ///< the results table
  std::vector<std::string> drawn;   ///< plots drawn (NAME.png, NAME.svg, NAME.gp)
  std::string problem;              ///< why plots are missing (no gnuplot, gnuplot failed); empty if none
};
/// Writes results.md, results.csv and the plots into `dir` (which exists).
ReportOutcome write_report(const std::vector<Run>& runs, const std::filesystem::path& dir);

}  // namespace whittle::cli
