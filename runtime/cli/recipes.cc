// Shared by the subcommands that read a recipe and its cache (recipes.h).
#include "runtime/cli/recipes.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "lang/graph.h"
#include "lang/render.h"
#include "runtime/cli/common.h"
#include "runtime/plan/metrics.h"
#include "runtime/plan/record.h"

namespace whittle::cli {
namespace fs = std::filesystem;

void add_recipe_options(CLI::App* c, RecipeOptions& o) {
  c->add_option("recipe", o.file, "Recipe file")->required()->check(CLI::ExistingFile);
  add_set_option(c, o.sets);
  c->add_option("--cache", o.cache, "Cache folder (default: .whittle/ beside the recipe, or $WHITTLE_CACHE)");
  add_score_option(c, o.score);
}

void add_score_option(CLI::App* c, std::string& preset) {
  c->add_option(
       "--score", preset,
       "The score preset tables, plots and claims show (default: the recipe's last `score` stage's, else course2025)")
      ->check(CLI::IsMember(runtime::score_presets()));
}

/// Analyses and plans a recipe; prints problems; nullptr if it cannot run.
std::unique_ptr<runtime::Plan> load_plan(const RecipeOptions& o, std::unique_ptr<runtime::ArtifactStore>& store,
                                         const std::string& data_dir) {
  auto sets = parse_sets(o.sets);
  if (!sets) return nullptr;
  lang::CheckOptions copts;
  copts.overrides = *sets;
  copts.confine_to = o.confine_to;
  auto analysis = lang::analyze_file(o.file, copts);
  try {
    store = std::make_unique<runtime::ArtifactStore>(o.cache.empty() ? runtime::default_cache_dir(o.file) : o.cache);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return nullptr;
  }
  // A submission (confined) never names the grader's folders: its data comes from --data or WHITTLE_DATA.
  auto plan = runtime::make_plan(std::move(analysis), *store, data_dir, /*data_roots=*/o.confine_to.empty());
  if (!o.score.empty()) runtime::set_score_preset(*plan, o.score, "--score");
  const lang::Analysis& a = *plan->analysis;
  for (const auto& d : a.diags.all())
    if (d.severity != lang::Severity::Note) std::fputs((lang::render_full(d, a.sources) + "\n").c_str(), stderr);
  if (a.diags.has_errors()) {
    std::fprintf(stderr, "error: `%s` cannot run: %s\n", o.file.c_str(),
                 summary(a.diags.count(lang::Severity::Error), a.diags.count(lang::Severity::Warning), 0).c_str());
    return nullptr;
  }
  return plan;
}

std::optional<runtime::Run> load_run(RecipeOptions o) {
  const std::string arg = o.file;
  if (fs::path(arg).extension() == ".yaml") {  // a run record: runs/<recipe>.yaml in a cache
    auto rec = runtime::read_record(arg);
    if (!rec) {
      std::fprintf(stderr, "error: %s is not a run record of whittle\n", arg.c_str());
      return std::nullopt;
    }
    o.file = rec->file;
    if (o.cache.empty()) o.cache = fs::absolute(arg).parent_path().parent_path().string();
    if (!fs::exists(o.file)) {
      std::fprintf(stderr, "error: the run record %s is of %s, which is not there any more\n", arg.c_str(),
                   o.file.c_str());
      return std::nullopt;
    }
  }
  runtime::Run r;
  r.plan = load_plan(o, r.store);
  if (!r.plan) return std::nullopt;
  auto rec = runtime::read_record(r.plan->record_path);
  if (!rec) {
    std::fprintf(stderr, "error: no run of %s in the cache (looked for %s)\n  help: run it first: whittle run %s\n",
                 o.file.c_str(), r.plan->record_path.c_str(), o.file.c_str());
    return std::nullopt;
  }
  r.record = *rec;
  return r;
}

}  // namespace whittle::cli
