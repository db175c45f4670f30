// One recipe's last run as the report and its plots read it: the run record with the plan that says
// what its stages were, and how its stages and points are named.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "runtime/cache/store.h"
#include "runtime/plan/plan.h"
#include "runtime/plan/record.h"

namespace whittle::runtime {

/// One recipe's last run, with the plan that tells what its stages were.
struct Run {
  std::unique_ptr<ArtifactStore> store;
  std::unique_ptr<Plan> plan;
  RunRecord record;
  /// The plan's stage `s.id` is the one that ran (the recipe and its --set values are unchanged).
  bool same(const StageRecord& s) const;
};

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

/// A stage as the report names it: a measuring stage (evaluate, score) by the stage whose model it
/// measured, a sweep branch with its values.
std::string report_label(const Run& r, const StageRecord& s);

}  // namespace whittle::runtime
