// `whittle plan` (what would run and why, with the static preview of every stage's model) and
// `whittle graph`: thin glue over runtime/ and lang/.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <set>

#include "lang/graph.h"
#include "lang/lint/lint.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/common.h"
#include "runtime/cli/recipes.h"
#include "runtime/exec/search_run.h"
#include "runtime/plan/metrics.h"
#include "runtime/plan/plan.h"
#include "runtime/torch/api.h"

namespace whittle::cli {
using runtime::ArtifactStore;

namespace {

int plan_recipe(const RecipeOptions& o, bool explain, const std::string& format, bool preview) {
  std::unique_ptr<ArtifactStore> store;
  auto plan = load_plan(o, store);
  if (!plan) return 1;
  std::map<int, runtime::torchrt::StagePreview> pv;
  // Without LibTorch (a build without it, or a module that cannot load) the plan is still shown.
  if (preview) {
    try {
      pv = runtime::torch_api().preview_plan(*plan);
    } catch (const std::runtime_error& e) {
      if (runtime::torch_loaded()) throw;
      std::fprintf(stderr, "warning: no preview: %s\n", e.what());
      preview = false;
    }
  }
  runtime::fill_search_objectives(*plan, pv);
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& step : plan->steps) {
      nlohmann::json j = {{"id", step.stage},
                          {"kind", plan->stage(step.stage).kind},
                          {"key", step.key},
                          {"status", step.fresh ? "fresh" : "stale"},
                          {"reason", step.reason}};
      if (auto it = pv.find(step.stage); it != pv.end()) {
        j["preview"] = it->second.metrics;
        j["preview_estimated"] = it->second.estimated;
        j["preview_score_estimated"] = it->second.estimated || it->second.score_estimated;
        j["score_preset"] = plan->score_preset;  // the preset `preview_score` is in
        if (it->second.metrics.count(runtime::score_key(plan->score_preset)))
          j["preview_score"] = it->second.metrics.at(runtime::score_key(plan->score_preset));
        if (!it->second.score_preset.empty()) j["preview_score_preset"] = it->second.score_preset;
        if (!it->second.note.empty()) j["preview_note"] = it->second.note;
      }
      if (plan->stage(step.stage).search) j["search"] = runtime::search_plan_json(*plan, plan->stage(step.stage));
      out.push_back(j);
    }
    std::puts(out.dump(1).c_str());
    return 0;
  }
  // The score column is in the plan's preset on every row (runtime/plan/plan.h); a `score` stage whose own
  // figure differs (another preset, or `count: conv_linear`) has it in a column of its own.
  const std::string key = runtime::score_key(plan->score_preset);
  bool presets = false;
  for (const auto& [id, p] : pv)
    presets = presets || (!p.score_preset.empty() && p.metrics.count("preset_score") && p.metrics.count(key) &&
                          p.metrics.at("preset_score") != p.metrics.at(key));
  const std::size_t w = runtime::stage_name_width(*plan, 36);
  std::string head = fmt::format("{:<{}} {:<6} {:<12}", "stage", w, "status", "key");
  if (preview)
    head += fmt::format(" {:>10} {:>10} {:>9} {:>7} {:>5} {:>10}", "params", "nonzero", "sparsity", "MACs", "bits",
                        plan->score_preset);
  if (presets) head += fmt::format(" {:>20}", "score stage's preset");
  std::puts(head.c_str());
  bool estimated = false, score_estimated = false;
  for (const auto& step : plan->steps) {
    std::string line = fmt::format("{:<{}} {:<6} {:<12}", stage_name(*plan, step.stage), w,
                                   step.fresh ? "fresh" : "stale", step.key.substr(0, 12));
    if (auto it = pv.find(step.stage); it != pv.end()) {
      const auto& m = it->second.metrics;
      if (!it->second.note.empty()) {
        line += "  (no preview: " + it->second.note + ")";
      } else {
        const char* mark = it->second.estimated ? "~" : "";
        const char* score_mark = it->second.estimated || it->second.score_estimated ? "~" : "";
        estimated |= it->second.estimated;
        score_estimated |= it->second.score_estimated && !it->second.estimated;
        line += fmt::format(" {:>10} {:>10} {:>9} {:>7} {:>5} {:>10}", runtime::format_metric(m, "params"),
                            runtime::format_metric(m, "nonzero"), runtime::format_metric(m, "sparsity"),
                            mark + runtime::format_metric(m, "macs"), runtime::format_metric(m, "bits"),
                            score_mark + runtime::format_metric(m, key));
        if (presets && !it->second.score_preset.empty())
          line += fmt::format(" {:>20}", fmt::format("{}{} {}", score_mark, it->second.score_preset,
                                                     runtime::format_metric(m, "preset_score")));
      }
    }
    if (explain) line += "  " + step.reason;
    std::puts(line.c_str());
  }
  std::printf("%zu of %zu stages to run%s\n", plan->stale_count(), plan->steps.size(),
              runtime::has_search(*plan) ? " (a search's candidates: only those its strategy needs)" : "");
  std::fputs(runtime::search_plan_text(*plan).c_str(), stdout);
  if (preview) {
    std::printf("preview: each stage's model as the recipe makes it, before training%s\n",
                presets ? "; a `score` stage's own figure is beside it" : "");
    std::printf("%s\n", runtime::score_note(plan->score_preset, plan->score_preset_source).c_str());
    if (estimated)
      std::puts(
          "~: which layers lose what depends on the trained weights or the scan, so MACs and score are estimates");
    if (score_estimated)
      std::puts(
          "~: a global prune of initialised weights empties whole filters that trained weights keep: the score is an "
          "estimate");
    // The score's surprise: weights quantized, activations in float, and the ops term nearly all of
    // the score (course2025: the default preset, whose terms the preview has).
    std::set<std::uint32_t> noted;  // once per line as written (a sweep's or a search's branches repeat it)
    for (const auto& step : plan->steps) {
      const auto it = pv.find(step.stage);
      if (plan->stage(step.stage).kind != "quantize" || it == pv.end() || plan->score_preset != "course2025") continue;
      if (!noted.insert(plan->stage(step.stage).span.begin).second) continue;
      if (const std::string note = runtime::float_activations_note(it->second.metrics); !note.empty())
        std::printf("note: %s: %s\n  help: %s (%s)\n", stage_name(*plan, step.stage).c_str(), note.c_str(),
                    lang::lint::float_activations_help().c_str(), runtime::where_written(*plan, step.stage).c_str());
    }
  }
  return 0;
}

}  // namespace

void add_plan(CLI::App& app, int& exit_code) {
  auto po = std::make_shared<RecipeOptions>();
  auto explain = std::make_shared<bool>(false);
  auto pformat = std::make_shared<std::string>("text");
  CLI::App* p = app.add_subcommand(
      "plan",
      "Which stages are cached and which would run, and what each stage's model will be, without running anything");
  add_recipe_options(p, *po);
  p->add_flag("--explain", *explain, "Say why each stale stage must run");
  auto no_preview = std::make_shared<bool>(false);
  add_format(p, *pformat, "every stage, its key, status, reason and preview");
  p->add_flag("--no-preview", *no_preview,
              "Leave out the static preview (parameters, MACs, sparsity, bits, score per stage)");
  p->callback([po, explain, pformat, no_preview, &exit_code] {
    exit_code = plan_recipe(*po, *explain, *pformat, !*no_preview);
  });

  auto go = std::make_shared<RecipeOptions>();
  auto gformat = std::make_shared<std::string>("text");
  CLI::App* g = app.add_subcommand("graph", "Print the stage graph as text or Graphviz DOT");
  g->add_option("recipe", go->file, "Recipe file")->required()->check(CLI::ExistingFile);
  add_set_option(g, go->sets);
  add_format(g, *gformat, "", {"dot"});
  g->callback([go, gformat, &exit_code] {
    auto sets = parse_sets(go->sets);
    if (!sets) {
      exit_code = 2;
      return;
    }
    lang::CheckOptions copts;
    copts.overrides = *sets;
    auto a = lang::analyze_file(go->file, copts);
    if (a->diags.has_errors()) {
      std::fputs(render_all(*a, Format::Full).c_str(), stderr);
      exit_code = 1;
      return;
    }
    auto graph = lang::compile(a->recipe);
    std::fputs((*gformat == "dot" ? lang::graph_dot(graph, a->sources) : lang::graph_text(graph, a->sources)).c_str(),
               stdout);
  });
}

}  // namespace whittle::cli
