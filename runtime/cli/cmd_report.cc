// `whittle report RECIPE|RUN...`: the results of recipes' last runs as a table (markdown and CSV)
// and as plots drawn by gnuplot (PNG and SVG): accuracy against score, loss and accuracy per epoch,
// sparsity per layer, sensitivity curves (runtime/report/report.h makes them; this prints what it made).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "runtime/cli/commands.h"
#include "runtime/cli/common.h"
#include "runtime/cli/recipes.h"
#include "runtime/plan/named_model.h"
#include "runtime/report/report.h"
#include "runtime/submit/submission.h"

namespace whittle::cli {
namespace fs = std::filesystem;
using runtime::ReportOutcome;
using runtime::Run;
using runtime::write_report;

namespace {

int report(const std::vector<std::string>& args, const RecipeOptions& options, const std::string& out,
           const std::string& model) {
  std::vector<Run> runs;
  for (const auto& a : args) {
    RecipeOptions o = options;
    o.file = a;
    auto r = load_run(o);
    if (!r) return 1;
    for (const auto& s : r->record.stages)
      if (!r->same(s)) {
        std::fprintf(
            stderr,
            "note: %s changed since its last run; the report shows that run, and plots only the stages it still has\n",
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
  ReportOutcome o;
  try {
    o = write_report(runs, out, model);
  } catch (const runtime::ModelNameError& e) {  // --model names no model of a run
    std::fprintf(stderr, "error: %s\n  help: %s\n", e.what(), e.help.c_str());
    return 1;
  }
  for (const auto& w : o.warnings) std::fprintf(stderr, "warning: gnuplot: %s\n", w.c_str());
  std::fputs(o.markdown.c_str(), stdout);
  std::string drawn;
  for (const auto& d : o.drawn) drawn += " " + d;
  std::printf("\nwritten to %s: results.md, results.csv; plots (.png, .svg, .gp):%s\n", out.c_str(),
              drawn.empty() ? " none" : drawn.c_str());
  if (!o.problem.empty()) std::fprintf(stderr, "error: %s\n", o.problem.c_str());
  return o.problem.empty() ? 0 : 1;
}

}  // namespace

void add_report(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<std::vector<std::string>>();
  auto o = std::make_shared<RecipeOptions>();
  auto out = std::make_shared<std::string>("report");
  auto model = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand("report", "Tables (markdown, CSV) and plots (PNG, SVG) of recipes' last runs");
  c->add_option("runs", *args, "Recipes, or run records (runs/NAME.yaml in a cache)")
      ->required()
      ->check(CLI::ExistingFile);
  add_set_option(c, o->sets);
  c->add_option("--cache", o->cache, "Cache folder (default: .whittle/ beside each recipe, or $WHITTLE_CACHE)");
  add_score_option(c, o->score);
  c->add_option("-o,--output", *out, "Folder for the tables and plots (default: report)");
  c->add_option("--model", *model,
                "The model the sparsity and weight plots show: the stage named `as NAME` (default: the model `submit` "
                "packs, the last stage's)");
  c->callback([=, &exit_code] { exit_code = report(*args, *o, *out, *model); });
}

}  // namespace whittle::cli
