// Deciding a `search` (docs/search.md) while a recipe runs: the strategy (search_strategy.h) names
// the candidates to train, in order of previewed objective; the executor trains each as its ordinary
// stages (cached like any others, so a killed search resumes) and reports what the candidate's
// `evaluate` measured; the decision, every candidate's status included, is the search entry's
// search.json, beside the chosen candidate's model.
#pragma once
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/exec/executor.h"
#include "runtime/plan/metrics.h"
#include "runtime/plan/search_choice.h"
#include "runtime/torch/stages/preview.h"

namespace whittle::runtime {

/// The stages of every search's candidates: they run only when their search asks for them (the
/// executors leave them out of a run's order; a Slurm search is one job that trains them).
std::set<int> search_candidate_stages(const Plan& plan);

/// The metric that holds an objective's figure: the preset's score, "nonzero" for `params`,
/// "macs", "size_mib" for `size`.
std::string objective_metric(const std::string& objective);
/// The metric that holds the constraint's figure: "latency_ms" for `latency`, else the metric itself.
std::string constraint_metric(const std::string& metric);

/// Trains candidates, side by side where it can (every seed's run of their stages, or finds them
/// cached) and returns, per candidate, each run's `evaluate` metrics; nullopt when a stage failed
/// (the executor has reported it).
using TrainCandidates =
    std::function<std::optional<std::vector<std::vector<Metrics>>>(const std::vector<int>& candidates)>;

/// Decides the search stage `search`: trains what the strategy asks, `jobs` candidates per round
/// (trained in the strategy's order), and returns search.json's content. Throws StageError when no
/// candidate passed (or every one the budget allowed failed); nullopt when a training failed.
std::optional<nlohmann::json> decide_search(const Plan& plan, const lang::StageInstance& search,
                                            const TrainCandidates& train, Progress& progress, int jobs = 1);

/// Every search's candidates' previewed objectives into plan.search_objectives, from the static
/// preview (the `evaluate` that measures each candidate, whose figures count test-time views, else its
/// final model); a candidate without one leaves its search unfilled (the run then says so).
void fill_search_objectives(Plan& plan, const std::map<int, torchrt::StagePreview>& previews);

/// The candidates of the plan's searches by previewed objective, what is ruled out statically and
/// the most trainings, for `whittle plan`: one block of text per search.
std::string search_plan_text(const Plan& plan);
/// The same for `whittle plan --format json`: one search's candidates, each with its previewed
/// objective and whether it is ruled out before training.
nlohmann::json search_plan_json(const Plan& plan, const lang::StageInstance& search);
/// Whether the plan has a search.
bool has_search(const Plan& plan);

/// The decision of a finished search as a table (the run table's): every candidate's status, its
/// measured metric and objective, by objective.
std::string search_table(const nlohmann::json& decision);
/// Every finished search's decision (search.json), in stage order.
nlohmann::json search_decisions(const Plan& plan, const ArtifactStore& store);
/// Every finished search of the plan as its table (those whose entry is in the store).
std::string search_tables(const Plan& plan, const ArtifactStore& store);

}  // namespace whittle::runtime
