// What the subcommands that read a recipe and its cache share: the options, analysing and planning
// a recipe, and short renderings of stages and metrics.
#pragma once
#include <CLI/CLI.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/plan.h"
#include "runtime/store.h"

namespace whittle::cli {

struct RecipeOptions {
  std::string file;
  std::vector<std::string> sets;
  std::string cache;
  std::string confine_to;  ///< a submission's folder: its recipe may `use` nothing outside it
};

/// The recipe argument, `--set` and `--cache`.
void add_recipe_options(CLI::App* c, RecipeOptions& o);

/// Analyses and plans a recipe; prints problems; nullptr if it cannot run. `data_dir`: where this
/// machine keeps the data, if not where the recipe says (`verify --data`).
std::unique_ptr<runtime::Plan> load_plan(const RecipeOptions& o, std::unique_ptr<runtime::ArtifactStore>& store, const std::string& data_dir = "");

/// "#3 prune 20% global", cut to 34 characters.
std::string stage_name(const runtime::Plan& p, int id);

/// A metric formatted with `fmt_spec` after scaling, or "-" when it is missing.
std::string metric(const std::map<std::string, double>& m, const char* name, const char* fmt_spec, double scale = 1);
/// MACs in a short form: 555.4M, 1.2M, 310.6K.
std::string macs(const std::map<std::string, double>& m);

}  // namespace whittle::cli
