// What the subcommands that read a recipe and its cache share: the options, analysing and planning
// a recipe, and loading its last run.
#pragma once
#include <CLI/CLI.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/cache/store.h"
#include "runtime/plan/plan.h"
#include "runtime/report/report.h"

namespace whittle::cli {

struct RecipeOptions {
  std::string file;
  std::vector<std::string> sets;
  std::string cache;
  std::string confine_to;  ///< a submission's folder: its recipe may `use` nothing outside it
  std::string score;       ///< --score PRESET: the preset tables show (else the recipe's; runtime/plan/plan.h)
};

/// The recipe argument, `--set`, `--cache` and `--score`.
void add_recipe_options(CLI::App* c, RecipeOptions& o);
/// `--score PRESET` alone, for commands that take their recipes otherwise.
void add_score_option(CLI::App* c, std::string& preset);

/// Analyses and plans a recipe; prints problems; nullptr if it cannot run. `data_dir`: where this
/// machine keeps the data, if not where the recipe says (`verify --data`).
std::unique_ptr<runtime::Plan> load_plan(const RecipeOptions& o, std::unique_ptr<runtime::ArtifactStore>& store,
                                         const std::string& data_dir = "");

/// The last run of `o.file`, a recipe or a run record (runs/NAME.yaml) that names one; problems are
/// printed and give nullopt.
std::optional<runtime::Run> load_run(RecipeOptions o);

using runtime::stage_name;

}  // namespace whittle::cli
