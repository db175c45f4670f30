// `whittle report RECIPE|RUN...`: the results of recipes' last runs as a table (markdown and CSV)
// and as plots drawn by gnuplot (PNG and SVG): accuracy against score, loss and accuracy per epoch,
// sparsity per layer, sensitivity curves (runtime/report.h makes them; this prints what it made).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "runtime/cli/commands.h"
#include "runtime/cli/recipes.h"
#include "runtime/report.h"

namespace whittle::cli {
namespace fs = std::filesystem;
using runtime::ReportOutcome;
using runtime::Run;
using runtime::write_report;

namespace {

int report(const std::vector<std::string>& args, const std::vector<std::string>& sets, const std::string& cache, const std::string& out) {
  std::vector<Run> runs;
  for (const auto& a : args) {
    auto r = load_run(a, sets, cache);
    if (!r) return 1;
    for (const auto& s : r->record.stages)
      if (!r->same(s)) {
        std::fprintf(stderr, "note: %s changed since its last run; the report shows that run, and plots only the stages it still has\n",
                     a.c_str());
        break;
      }
    runs.push_back(std::move(*r));
  }
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) {
    std::fprintf(stderr, "error: cannot create %s: %s\n", out.c_str(), ec.message().c_str());
    return 1;
  }
  const ReportOutcome o = write_report(runs, out);
  std::fputs(o.markdown.c_str(), stdout);
  std::string drawn;
  for (const auto& d : o.drawn) drawn += " " + d;
  std::printf("\nwritten to %s: results.md, results.csv; plots (.png, .svg, .gp):%s\n", out.c_str(), drawn.empty() ? " none" : drawn.c_str());
  if (!o.problem.empty()) std::fprintf(stderr, "error: %s\n", o.problem.c_str());
  return o.problem.empty() ? 0 : 1;
}

}  // namespace

void add_report(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<std::vector<std::string>>();
  auto sets = std::make_shared<std::vector<std::string>>();
  auto cache = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>("report");
  CLI::App* c = app.add_subcommand("report", "Tables (markdown, CSV) and plots (PNG, SVG) of recipes' last runs");
  c->add_option("runs", *args, "Recipes, or run records (runs/NAME.yaml in a cache)")->required()->check(CLI::ExistingFile);
  c->add_option("--set", *sets, "Override a top-level `let`: NAME=VALUE (repeatable)");
  c->add_option("--cache", *cache, "Cache folder (default: .whittle/ beside each recipe, or $WHITTLE_CACHE)");
  c->add_option("-o,--output", *out, "Folder for the tables and plots (default: report)");
  c->callback([=, &exit_code] { exit_code = report(*args, *sets, *cache, *out); });
}

}  // namespace whittle::cli
