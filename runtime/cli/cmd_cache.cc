// `whittle cache ls | verify | gc | pack | unpack | upgrade`: the store's listing, audit, collection,
// entries carried to another machine (runtime/packs/cache_pack.h), and the previous format converted
// (runtime/cache/cache_upgrade.h), as thin glue.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>

#include "runtime/cache/cache_upgrade.h"
#include "runtime/cache/store.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/common.h"
#include "runtime/cli/recipes.h"
#include "runtime/packs/cache_pack.h"
#include "runtime/plan/plan.h"
#include "runtime/torch/api.h"

namespace whittle::cli {
namespace fs = std::filesystem;
using runtime::ArtifactStore;

namespace {

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / 1048576.0; }

/// The stages `--stage` names: `#N`, or an `as` name (every stage of that name: a sweep's branches).
std::optional<std::vector<int>> named_stages(const runtime::Plan& p, const std::vector<std::string>& names) {
  std::vector<int> out;
  for (const auto& n : names) {
    if (n.empty()) {
      std::fprintf(stderr,
                   "error: `--stage ''` names no stage\n  help: name a stage by its number (`#3`, as `whittle plan` "
                   "shows) or its `as` name\n");
      return std::nullopt;
    }
    const std::size_t before = out.size();
    std::vector<std::string> known;
    for (const auto& step : p.steps) {
      const auto& s = p.stage(step.stage);
      if (!s.as_name.empty()) known.push_back(s.as_name);
      if (s.as_name == n || n == fmt::format("#{}", s.id)) out.push_back(s.id);
    }
    if (out.size() == before) {
      std::sort(known.begin(), known.end());
      known.erase(std::unique(known.begin(), known.end()), known.end());
      std::fprintf(stderr,
                   "error: %s has no stage `%s`\n  help: name a stage by its number (`#3`, as `whittle plan` shows) or "
                   "its `as` name%s\n",
                   p.analysis->recipe.name.c_str(), n.c_str(),
                   known.empty() ? "" : fmt::format(" ({})", fmt::join(known, ", ")).c_str());
      return std::nullopt;
    }
  }
  return out;
}

int pack(const RecipeOptions& o, const std::vector<std::string>& stage_names, std::string out) {
  std::unique_ptr<runtime::ArtifactStore> store;
  auto plan = load_plan(o, store);
  if (!plan) return 1;
  auto stages = named_stages(*plan, stage_names);
  if (!stages) return 2;
  const auto contents = runtime::pack_contents(*plan, *store, *stages);
  for (const auto& c : contents.corrupt)
    std::fprintf(stderr, "warning: left out %s (run `whittle cache verify`)\n", c.c_str());
  if (contents.items.empty()) {
    std::fprintf(stderr, "error: nothing of %s is in the cache `%s`\n  help: run it first: whittle run %s\n",
                 o.file.c_str(), store->root().c_str(), o.file.c_str());
    return 1;
  }
  if (out.empty()) out = contents.recipe + ".pack.tar.zst";
  try {
    const auto stats = runtime::write_pack(*store, contents, out);
    for (const auto& it : contents.items)
      if (std::find(stats.busy.begin(), stats.busy.end(), it.label) == stats.busy.end())
        std::printf("  %s %s\n", it.partial ? "checkpoints" : "entry      ", it.label.c_str());
    std::printf("packed %zu entr%s%s (%.1f MiB) of %s into %s\n", stats.entries, stats.entries == 1 ? "y" : "ies",
                stats.partials ? fmt::format(" and the epoch checkpoints of {} unfinished stage{}", stats.partials,
                                             stats.partials == 1 ? "" : "s")
                                     .c_str()
                               : "",
                mib(stats.bytes), contents.recipe.c_str(), out.c_str());
    for (const auto& b : stats.busy) std::printf("not packed: %s: a whittle run is computing it now\n", b.c_str());
    for (const auto& m : contents.missing) std::printf("not packed: %s: not in the cache (not run yet)\n", m.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

int unpack(const std::string& file, const std::string& dir, const std::string& recipe) {
  const std::string root = !dir.empty() ? dir : runtime::default_cache_dir(recipe.empty() ? "./recipe" : recipe);
  try {
    runtime::ArtifactStore store(root);
    const auto r = runtime::read_pack(store, file);
    for (const auto& l : r.installed) std::printf("  entry       %s\n", l.c_str());
    for (const auto& l : r.partials) std::printf("  checkpoints %s\n", l.c_str());
    std::printf("unpacked %zu entr%s%s of %s (packed %s by whittle %s) into %s%s\n", r.installed.size(),
                r.installed.size() == 1 ? "y" : "ies",
                r.partials.empty() ? ""
                                   : fmt::format(" and the epoch checkpoints of {} stage{}", r.partials.size(),
                                                 r.partials.size() == 1 ? "" : "s")
                                         .c_str(),
                r.recipe.c_str(), r.created.c_str(), r.whittle_version.c_str(), root.c_str(),
                r.present.empty() ? "" : fmt::format("; {} already there", r.present.size()).c_str());
    for (const auto& [l, why] : r.skipped)
      std::printf("not unpacked: the checkpoints of %s: %s\n", l.c_str(), why.c_str());
    if (!r.record.empty()) std::printf("run record: %s\n", r.record.c_str());
    for (const auto& [l, why] : r.refused) std::fprintf(stderr, "error: refused %s: %s\n", l.c_str(), why.c_str());
    if (!r.refused.empty())
      std::fprintf(stderr,
                   "  help: %zu entr%s not added (the rest was); pack them again from a good cache, or let `whittle "
                   "run` recompute them\n",
                   r.refused.size(), r.refused.size() == 1 ? "y was" : "ies were");
    return r.refused.empty() ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

void add_cache_pack(CLI::App* c, int& exit_code) {
  auto o = std::make_shared<RecipeOptions>();
  auto stages = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  CLI::App* p = c->add_subcommand(
      "pack", "Put a recipe's cache entries (and unfinished stages' checkpoints) into one archive for another machine");
  add_recipe_options(p, *o);
  p->add_option("--stage", *stages, "Only this stage and what it needs: `#3` or an `as` name (repeatable)");
  p->add_option("-o,--output", *out, "The archive to write (default: NAME.pack.tar.zst)");
  p->callback([o, stages, out, &exit_code] { exit_code = pack(*o, *stages, *out); });
  auto file = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>();
  CLI::App* u = c->add_subcommand(
      "unpack", "Add a pack's entries to a cache, each verified first; those already there are skipped");
  u->add_option("file", *file, "The archive from `whittle cache pack`")->required()->check(CLI::ExistingFile);
  auto recipe = std::make_shared<std::string>();
  auto* cache_opt =
      u->add_option("--cache", *dir, "Cache folder (default: ./.whittle or $WHITTLE_CACHE; created if need be)");
  u->add_option("--for", *recipe, "Into the cache this recipe uses (.whittle/ beside it, or $WHITTLE_CACHE)")
      ->check(CLI::ExistingFile)
      ->excludes(cache_opt);
  u->callback([file, dir, recipe, &exit_code] { exit_code = unpack(*file, *dir, *recipe); });
}

int upgrade(const std::string& dir) {
  const std::string root = dir.empty() ? runtime::default_cache_dir("./recipe") : dir;
  try {
    const auto r = runtime::upgrade_cache(root, [](const std::string& from, const std::string& to) {
      runtime::torch_api().upgrade_legacy_file(from, to);
    });
    if (r.already) {
      std::printf("the cache `%s` is already of this whittle's format (whittle-cache %d): nothing to do\n",
                  root.c_str(), runtime::kCacheFormat);
      return 0;
    }
    for (const auto& q : r.quarantined)
      std::printf("damaged, moved to corrupt/ (the next run recomputes it): %s\n", q.c_str());
    std::printf("upgraded the cache `%s` to whittle-cache %d: %zu of %zu entries converted to safetensors%s\n",
                root.c_str(), runtime::kCacheFormat, r.converted, r.entries,
                r.partial ? fmt::format(", and the epoch checkpoints of {} unfinished stage{}", r.partial,
                                        r.partial == 1 ? "" : "s")
                                .c_str()
                          : "");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

}  // namespace

void add_cache(CLI::App& app, int& exit_code) {
  auto dir = std::make_shared<std::string>();
  auto recipes = std::make_shared<std::vector<std::string>>();
  auto sets = std::make_shared<std::vector<std::string>>();
  CLI::App* c = app.add_subcommand(
      "cache", "Inspect, clean and carry the cache: ls, verify, gc RECIPE..., pack RECIPE, unpack FILE, upgrade");
  c->require_subcommand(1);
  // Each subcommand's body gets the opened store and returns the exit code.
  auto with_store = [dir, &exit_code](std::function<int(ArtifactStore&)> body) {
    return [dir, &exit_code, body] {
      const std::string root = dir->empty() ? runtime::default_cache_dir("./recipe") : *dir;  // .whittle here
      std::error_code ec;
      if (!fs::exists(fs::path(root) / "VERSION", ec) && !fs::is_directory(fs::path(root) / "objects", ec)) {
        std::fprintf(stderr, "error: no whittle cache at `%s`; name one with --cache DIR\n", root.c_str());
        exit_code = 1;
        return;
      }
      try {
        ArtifactStore store(root);
        exit_code = body(store);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        exit_code = 1;
      }
    };
  };
  CLI::App* ls = c->add_subcommand("ls", "List the entries");
  ls->add_option("--cache", *dir, "Cache folder (default: ./.whittle or $WHITTLE_CACHE)");
  ls->callback(with_store([](ArtifactStore& store) {
    for (const auto& m : store.list()) {
      std::uint64_t bytes = 0;
      for (const auto& f : m.files) bytes += f.size;
      std::printf("%s  %-10s %8.1f KiB  %7.1fs  %s  %s\n", m.key.substr(0, 16).c_str(), m.kind.c_str(), bytes / 1024.0,
                  m.seconds, m.created.c_str(), m.label.c_str());
    }
    return 0;
  }));
  CLI::App* verify = c->add_subcommand("verify", "Check every entry against its checksums");
  verify->add_option("--cache", *dir, "Cache folder");
  verify->callback(with_store([](ArtifactStore& store) {
    std::size_t n = 0;
    const auto problems = store.audit(n);
    for (const auto& p : problems)
      std::printf("corrupt  %s%s: %s\n", p.folder.c_str(), p.label.empty() ? "" : ("  " + p.label).c_str(),
                  p.why.c_str());
    std::printf("%zu entries, %zu corrupt%s\n", n, problems.size(),
                problems.empty() ? "" : " (the next run recomputes them)");
    return problems.empty() ? 0 : 1;
  }));
  CLI::App* gc = c->add_subcommand("gc", "Remove the entries that none of the named recipes reach");
  gc->add_option("--cache", *dir, "Cache folder");
  add_set_option(gc, *sets, "Keep also the stages of the recipes with these `--set NAME=VALUE` (repeatable)");
  gc->add_option("recipes", *recipes, "The recipes whose stages to keep")->required()->check(CLI::ExistingFile);
  gc->callback(with_store([recipes, sets](ArtifactStore& store) {
    auto parsed = parse_sets(*sets);
    if (!parsed) return 2;
    const auto held = store.use_lock(true);
    if (!held.held()) {
      std::fprintf(stderr,
                   "error: a whittle run is using the cache `%s` now; nothing was removed\n"
                   "  help: run `whittle cache gc` again when it has finished\n",
                   store.root().c_str());
      return 1;
    }
    // What each recipe needs now (with the --set given), and what every recorded run of it used
    // (its runs with other --set values included).
    std::vector<std::string> keep;
    for (const auto& r : *recipes) {
      lang::CheckOptions copts;
      copts.overrides = *parsed;
      auto plan = runtime::make_plan(lang::analyze_file(r, copts), store);
      if (plan->analysis->diags.has_errors()) {
        std::fprintf(stderr, "error: `%s` has errors; nothing was removed (run `whittle lint %s`)\n", r.c_str(),
                     r.c_str());
        return 1;
      }
      keep.insert(keep.end(), plan->keys.begin(), plan->keys.end());
      for (const auto& rec : runtime::recorded_runs(store, plan->analysis->recipe.name))
        for (const auto& st : rec.stages) keep.push_back(st.key);
    }
    auto [n, bytes] = store.gc(keep);
    std::printf("removed %zu entries (%.1f MiB); kept what %zu recipe%s and their recorded runs reach\n", n,
                bytes / 1048576.0, recipes->size(), recipes->size() == 1 ? "" : "s");
    return 0;
  }));
  add_cache_pack(c, exit_code);
  CLI::App* up = c->add_subcommand(
      "upgrade",
      "Convert a cache of the previous format (LibTorch archives) to this one (safetensors), keeping every entry");
  up->add_option("--cache", *dir, "Cache folder (default: ./.whittle or $WHITTLE_CACHE)");
  up->callback([dir, &exit_code] { exit_code = upgrade(*dir); });
}

}  // namespace whittle::cli
