// Planning: which stages are fresh (their entry is in the store) and which are stale, and why.
// Pure apart from reading manifests and data fingerprints: no LibTorch, no checksums.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lang/analyze.h"
#include "lang/graph.h"
#include "runtime/cache/store.h"
#include "runtime/plan/record.h"

namespace whittle::runtime {

struct PlanStep {
  int stage = 0;
  std::string key;
  bool fresh = false;
  std::string reason;  ///< why it is stale, or "cached"
};

/// A checked recipe compiled, keyed and planned against a store.
struct Plan {
  std::unique_ptr<lang::Analysis> analysis;
  lang::StageGraph graph;
  std::vector<std::string> keys;            ///< per stage id
  std::map<int, std::string> fingerprints;  ///< data stage id → fingerprint
  std::vector<PlanStep> steps;              ///< in execution order
  std::string recipe_sha256;
  std::string record_path;  ///< where this recipe's run record lives
  std::string data_dir;     ///< where the data is, when not where the recipe says (make_plan)
  bool data_roots = true;   ///< false: a `data` stage's `root:` is never used (a submission's)
  /// The preset every table, plot and claim shows the score in (docs/course.md, "The score"): the
  /// recipe's last `score` stage's, else course2025; `--score PRESET` overrides it (set_score_preset).
  std::string score_preset = "course2025";
  std::string score_preset_source = "the default";  ///< "recipe.recipe:12", "--score", or "the default"
  /// Per `search` stage, every candidate's previewed objective (runtime/exec/search_run.h): filled from
  /// the static preview before a run that has a search.
  std::map<int, std::vector<std::pair<double, bool>>> search_objectives;  ///< (objective, estimated)
  /// Per `search` stage, the final model stage of the candidate it chose: set when its entry is
  /// made or found (make_plan, the executor), so that the chain after it builds that candidate's model.
  mutable std::map<int, int> search_choices;
  const lang::StageInstance& stage(int id) const { return analysis->recipe.stages[static_cast<std::size_t>(id)]; }
  /// The `model` stage that starts the chain a stage belongs to (after a search: its chosen candidate's).
  const lang::StageInstance& chain_model(int id) const {
    while (!stage(id).is(lang::StageDef::Role::Start)) {
      auto c = search_choices.find(id);
      id = c != search_choices.end() ? c->second : stage(id).model_in;
    }
    return stage(id);
  }
  std::size_t stale_count() const;
};

/// Builds the plan; problems (unrunnable stages, missing data) are added to the analysis's
/// diagnostics as R-codes at the recipe line that causes them.
/// `data_dir`: where this machine keeps the data when not where the recipe says (see locate_data).
/// `data_roots` false: the recipe's `root:` folders are ignored (verify: the grader's data only).
std::unique_ptr<Plan> make_plan(std::unique_ptr<lang::Analysis> analysis, const ArtifactStore& store,
                                const std::string& data_dir = "", bool data_roots = true);

/// Shows the score in `preset` (one of runtime/plan/metrics.h score_presets) wherever the plan's runs are shown.
void set_score_preset(Plan& p, const std::string& preset, const std::string& source);

/// Where a stage is written: "recipe.recipe:12".
std::string where_written(const Plan& p, int stage);

/// The run record describing a plan (status "planned" or "cached" per stage).
RunRecord plan_record(const Plan& p);

/// Where the run record of a recipe run with these `--set` values lives: runs/NAME.yaml, or
/// runs/NAME@HASH.yaml when values are set.
std::string record_path(const ArtifactStore& store, const std::string& recipe,
                        const std::map<std::string, std::string>& sets);
/// Every recorded run of a recipe, whatever its `--set` values.
std::vector<RunRecord> recorded_runs(const ArtifactStore& store, const std::string& recipe);

/// A stage as tables name it: "#3 prune 20% global", its summary cut to 34 characters, then its
/// `as` name and its sweep or repeat branch ("#8 prune 5% global l1 [sweep lr=0.01, sweep amount=5%]").
std::string stage_name(const Plan& p, int id);
/// The width of a column of stage names: the longest of the plan's, and at least `least`.
std::size_t stage_name_width(const Plan& p, std::size_t least);

/// The default cache folder for a recipe: `.whittle/` beside it, or $WHITTLE_CACHE.
std::string default_cache_dir(const std::string& recipe_path);

}  // namespace whittle::runtime
