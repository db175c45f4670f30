// Shared by the subcommands that read a recipe and its cache (recipes.h).
#include "runtime/cli/recipes.h"

#include <fmt/format.h>

#include <cstdio>

#include "lang/graph.h"
#include "lang/render.h"
#include "runtime/cli/common.h"

namespace whittle::cli {

void add_recipe_options(CLI::App* c, RecipeOptions& o) {
  c->add_option("recipe", o.file, "Recipe file")->required()->check(CLI::ExistingFile);
  c->add_option("--set", o.sets, "Override a top-level `let`: NAME=VALUE (repeatable)");
  c->add_option("--cache", o.cache, "Cache folder (default: .whittle/ beside the recipe, or $WHITTLE_CACHE)");
}

/// Analyses and plans a recipe; prints problems; nullptr if it cannot run.
std::unique_ptr<runtime::Plan> load_plan(const RecipeOptions& o, std::unique_ptr<runtime::ArtifactStore>& store, const std::string& data_dir) {
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
  auto plan = runtime::make_plan(std::move(analysis), *store, data_dir);
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

std::string stage_name(const runtime::Plan& p, int id) {
  const lang::StageInstance& s = p.stage(id);
  std::string n = fmt::format("#{} {}", id, s.kind);
  const std::string sum = lang::stage_summary(s);
  if (!sum.empty()) n += " " + sum;
  if (n.size() > 34) n = n.substr(0, 33) + "…";
  return n;
}

std::string metric(const std::map<std::string, double>& m, const char* name, const char* fmt_spec, double scale) {
  auto it = m.find(name);
  return it == m.end() ? "-" : fmt::format(fmt::runtime(fmt_spec), it->second * scale);
}

/// MACs in a short form: 555.4M, 1.2M, 310.6K.
std::string macs(const std::map<std::string, double>& m) {
  auto it = m.find("macs");
  if (it == m.end()) return "-";
  if (it->second >= 1e9) return fmt::format("{:.1f}G", it->second / 1e9);
  if (it->second >= 1e6) return fmt::format("{:.1f}M", it->second / 1e6);
  return fmt::format("{:.1f}K", it->second / 1e3);
}

}  // namespace whittle::cli
