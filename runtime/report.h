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

/// A branch as people read it: "sweep lr=0.01, sweep amount=30%" → "lr=0.01, amount=30%".
std::string branch_text(const std::string& where);

/// A point of a plot as a student names it: the measured model's `as` name, else its sweep or
/// repeat branch ("lr=0.01, amount=30%"), else what made it ("prune 20% global"); never "#19".
std::string point_label(const Run& r, const StageRecord& s);
/// The model a measuring stage measured (the stage itself when it makes one), or -1.
int measured_model(const Run& r, const StageRecord& s);

/// The line under a table that says which preset its score column shows and why.
std::string score_note(const std::string& preset, const std::string& source);
/// The preset a report of several runs shows: theirs when they agree, else the first's (`note`
/// says which, and why).
std::string report_preset(const std::vector<Run>& runs, std::string* note = nullptr);

struct ReportOutcome {
  std::string markdown;             ///< the results table
  std::vector<std::string> drawn;   ///< plots drawn (NAME.png, NAME.svg, NAME.gp)
  std::string problem;              ///< why plots are missing (no gnuplot, gnuplot failed); empty if none
  std::vector<std::string> warnings;  ///< what gnuplot said while drawing (none expected)
};
/// Writes results.md, results.csv and the plots into `dir` (which exists). The per-model plots
/// (sparsity per layer, weight histograms) are of the model named `as model` in each run, or with
/// no name of the model a submission packs (its last stage's).
ReportOutcome write_report(const std::vector<Run>& runs, const std::filesystem::path& dir, const std::string& model = "");

/// A stage as the report names it: a measuring stage (evaluate, score) by the stage whose model it
/// measured, a sweep branch with its values.
std::string report_label(const Run& r, const StageRecord& s);

}  // namespace whittle::runtime
