// `whittle cache ls | verify | gc`: the store's listing, audit and collection, as thin glue.
#include <cstdio>
#include <filesystem>
#include <functional>

#include "runtime/cli/commands.h"
#include "runtime/cli/common.h"
#include "runtime/plan.h"
#include "runtime/store.h"

namespace whittle::cli {
namespace fs = std::filesystem;
using runtime::ArtifactStore;

void add_cache(CLI::App& app, int& exit_code) {
  auto dir = std::make_shared<std::string>();
  auto recipes = std::make_shared<std::vector<std::string>>();
  auto sets = std::make_shared<std::vector<std::string>>();
  CLI::App* c = app.add_subcommand("cache", "Inspect and clean the cache: ls, verify, gc RECIPE...");
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
      std::printf("%s  %-10s %8.1f KiB  %7.1fs  %s  %s\n", m.key.substr(0, 16).c_str(), m.kind.c_str(), bytes / 1024.0, m.seconds,
                  m.created.c_str(), m.label.c_str());
    }
    return 0;
  }));
  CLI::App* verify = c->add_subcommand("verify", "Check every entry against its checksums");
  verify->add_option("--cache", *dir, "Cache folder");
  verify->callback(with_store([](ArtifactStore& store) {
    std::size_t n = 0;
    const auto problems = store.audit(n);
    for (const auto& p : problems)
      std::printf("corrupt  %s%s: %s\n", p.folder.c_str(), p.label.empty() ? "" : ("  " + p.label).c_str(), p.why.c_str());
    std::printf("%zu entries, %zu corrupt%s\n", n, problems.size(), problems.empty() ? "" : " (the next run recomputes them)");
    return problems.empty() ? 0 : 1;
  }));
  CLI::App* gc = c->add_subcommand("gc", "Remove the entries that none of the named recipes reach");
  gc->add_option("--cache", *dir, "Cache folder");
  gc->add_option("--set", *sets, "Keep also the stages of the recipes with these `--set NAME=VALUE` (repeatable)");
  gc->add_option("recipes", *recipes, "The recipes whose stages to keep")->required()->check(CLI::ExistingFile);
  gc->callback(with_store([recipes, sets](ArtifactStore& store) {
    auto parsed = parse_sets(*sets);
    if (!parsed) return 2;
    const auto held = store.use_lock(true);
    if (!held.held()) {
      std::fprintf(stderr, "error: a whittle run is using the cache `%s` now; nothing was removed\n"
                           "  help: run `whittle cache gc` again when it has finished\n", store.root().c_str());
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
        std::fprintf(stderr, "error: `%s` has errors; nothing was removed (run `whittle lint %s`)\n", r.c_str(), r.c_str());
        return 1;
      }
      keep.insert(keep.end(), plan->keys.begin(), plan->keys.end());
      for (const auto& rec : runtime::recorded_runs(store, plan->analysis->recipe.name))
        for (const auto& st : rec.stages) keep.push_back(st.key);
    }
    auto [n, bytes] = store.gc(keep);
    std::printf("removed %zu entries (%.1f MiB); kept what %zu recipe%s and their recorded runs reach\n", n, bytes / 1048576.0,
                recipes->size(), recipes->size() == 1 ? "" : "s");
    return 0;
  }));
}

}  // namespace whittle::cli
