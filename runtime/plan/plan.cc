// Keys, data fingerprints, fresh/stale decisions and their reasons.
#include "runtime/plan/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "runtime/cache/data_files.h"
#include "runtime/plan/keys.h"
#include "runtime/plan/metrics.h"
#include "runtime/plan/params.h"
#include "runtime/plan/search_choice.h"
#include "runtime/plan/stages.h"
#include "runtime/system/sha256.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

std::size_t Plan::stale_count() const {
  std::size_t n = 0;
  for (const auto& s : steps) n += !s.fresh;
  return n;
}

std::string default_cache_dir(const std::string& recipe_path) {
  if (const char* env = std::getenv("WHITTLE_CACHE"); env && *env) return env;
  return (fs::path(recipe_path).parent_path() / ".whittle").string();
}

namespace {

std::vector<std::pair<std::string, std::string>> canonical_params(const lang::StageInstance& s) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& p : s.params) out.emplace_back(p.name, p.value.canonical());
  return out;
}

/// Why a stale stage must run, comparing with the same stage of the previous run of this recipe.
std::string reason_for(const Plan& p, int id, const StageRecord* prev, const std::vector<bool>& stale) {
  const lang::StageInstance& s = p.stage(id);
  if (!prev || prev->kind != s.kind) return "not in the cache";
  for (const auto& [kind, from] : p.graph.inputs(id))
    if (stale[static_cast<std::size_t>(from)] && kind != lang::EdgeKind::Data)
      return fmt::format("input changed: {} from #{} {}", lang::edge_kind_name(kind), from, p.stage(from).kind);
  if (prev->key == p.keys[static_cast<std::size_t>(id)])
    return "its cache entry is missing (removed, or found corrupt)";
  std::string changes;
  for (const auto& p : s.params) {
    // Every keyed parameter (`key: unless_default` included, whichever side of the change is the default).
    const lang::ParamDef* d = s.def ? s.def->param(p.name) : nullptr;
    if (d && d->key == lang::KeyPolicy::Never) continue;
    const std::string value = p.value.canonical();
    for (const auto& [pname, pvalue] : prev->params)
      if (pname == p.name && pvalue != value)
        changes += fmt::format("{}{}: {} → {}", changes.empty() ? "" : ", ", p.name, pvalue, value);
  }
  if (!changes.empty()) return "params changed: " + changes;
  if (prev->seed != s.seed) return fmt::format("seed changed: {} → {}", prev->seed, s.seed);
  for (const auto& [kind, from] : p.graph.inputs(id))
    if (stale[static_cast<std::size_t>(from)])
      return fmt::format("input changed: {} from #{} {}", lang::edge_kind_name(kind), from, p.stage(from).kind);
  if (s.kind == "data") return "the data files changed";
  return "input changed";
}

}  // namespace

std::string record_path(const ArtifactStore& store, const std::string& recipe,
                        const std::map<std::string, std::string>& sets) {
  std::string name = recipe;
  if (!sets.empty()) {  // one record per set of --set values: a smoke run keeps the full run's record
    std::string canon;
    for (const auto& [k, v] : sets) canon += k + "=" + v + "\n";
    name += "@" + sha256_hex(canon).substr(0, 12);
  }
  return (fs::path(store.root()) / "runs" / (name + ".yaml")).string();
}

std::vector<RunRecord> recorded_runs(const ArtifactStore& store, const std::string& recipe) {
  std::vector<RunRecord> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(store.root()) / "runs", ec)) {
    const std::string n = e.path().filename().string();
    if (e.path().extension() != ".yaml" || (n != recipe + ".yaml" && n.rfind(recipe + "@", 0) != 0)) continue;
    if (auto r = read_record(e.path().string())) out.push_back(std::move(*r));
  }
  return out;
}

void set_score_preset(Plan& p, const std::string& preset, const std::string& source) {
  score_key(preset);  // a logic_error for a name that is no preset
  p.score_preset = preset;
  p.score_preset_source = source;
}

std::string where_written(const Plan& p, int stage) {
  const lang::Span& sp = p.stage(stage).span;
  const lang::SourceFile& f = p.analysis->sources.file(sp.file);
  return fmt::format("{}:{}", f.name(), f.line_of(sp.begin));
}

std::unique_ptr<Plan> make_plan(std::unique_ptr<lang::Analysis> analysis, const ArtifactStore& store,
                                const std::string& data_dir, bool data_roots) {
  auto p = std::make_unique<Plan>();
  p->analysis = std::move(analysis);
  p->data_dir = data_dir;
  p->data_roots = data_roots;
  lang::Analysis& a = *p->analysis;
  p->recipe_sha256 = sha256_hex(a.sources.file(a.main).text());
  p->record_path = record_path(store, a.recipe.name, a.overrides);
  if (a.diags.has_errors()) return p;
  p->graph = lang::compile(a.recipe);
  for (const lang::StageInstance& s : a.recipe.stages)
    if (s.kind == "score") set_score_preset(*p, Params(s).word("version"), where_written(*p, s.id));
  for (const lang::StageInstance& s : a.recipe.stages) {
    if (!runnable_stages().count(s.kind)) {
      a.diags.add(
          lang::Diagnostic::make("R0001", s.name_span,
                                 fmt::format("`{}` cannot run yet in this build of whittle", s.written),
                                 "not runnable yet")
              .with_help("`whittle doc` marks the stages this build can run; `whittle lint` still checks the recipe"));
    }
    if (s.kind == "data") {
      std::string error;
      auto files = locate_data(s, error, data_dir, data_roots);
      if (!files) {
        a.diags.add(lang::Diagnostic::make("R0002", s.span, error, "data not found")
                        .with_help(data_roots ? "give the folder with `root: \"...\"`, or set WHITTLE_DATA"
                                              : "a submission's `root:` is never used: give this machine's data with "
                                                "`--data DIR` or WHITTLE_DATA"));
        continue;
      }
      auto fp = data_fingerprint(*files, (fs::path(store.root()) / "fingerprints.tsv").string(), error);
      if (!fp) {
        a.diags.add(
            lang::Diagnostic::make("R0002", s.span, error, "data not readable")
                .with_help(
                    "make the data files readable by you (`chmod a+r FILE`), or point `root:` at a readable copy"));
        continue;
      }
      p->fingerprints[s.id] = files->dataset == "synthetic" ? "synthetic" : *fp;
    }
  }
  a.diags.sort();
  if (a.diags.has_errors()) return p;
  p->keys = stage_keys(p->graph, p->fingerprints);
  const auto previous = read_record(p->record_path);
  std::vector<bool> stale(a.recipe.stages.size(), false);
  for (int id : p->graph.order) {
    PlanStep step{id, p->keys[static_cast<std::size_t>(id)], store.has(p->keys[static_cast<std::size_t>(id)]),
                  "cached"};
    if (!step.fresh) {
      const StageRecord* prev = nullptr;
      if (previous)
        for (const auto& r : previous->stages)
          if (r.id == id) prev = &r;
      step.reason = reason_for(*p, id, prev, stale);
      stale[static_cast<std::size_t>(id)] = true;
    }
    p->steps.push_back(std::move(step));
  }
  // A finished search's chosen candidate: the chain after it builds that candidate's model.
  for (const lang::StageInstance& s : a.recipe.stages) {
    const std::string& key = p->keys[static_cast<std::size_t>(s.id)];
    if (s.search && store.has(key)) p->search_choices[s.id] = chosen_model(s, store.entry_dir(key));
  }
  return p;
}

RunRecord plan_record(const Plan& p) {
  const lang::Analysis& a = *p.analysis;
  RunRecord r;
  r.recipe = a.recipe.name;
  r.file = a.sources.file(a.main).name();
  r.recipe_sha256 = p.recipe_sha256;
  for (const PlanStep& step : p.steps) {
    const lang::StageInstance& s = p.stage(step.stage);
    StageRecord sr;
    sr.id = s.id;
    sr.kind = s.kind;
    sr.where = s.where;
    const lang::SourceFile& f = a.sources.file(s.span.file);
    sr.file = f.name();
    sr.line = static_cast<int>(f.line_of(s.span.begin));
    sr.key = step.key;
    for (const auto& [kind, from] : p.graph.inputs(s.id))
      sr.inputs.push_back(fmt::format("{} {}", lang::edge_kind_name(kind), p.keys[static_cast<std::size_t>(from)]));
    sr.seed = s.seed;
    sr.params = canonical_params(s);
    sr.status = step.fresh ? "cached" : "planned";
    r.stages.push_back(std::move(sr));
  }
  return r;
}

std::string stage_name(const Plan& p, int id) {
  const lang::StageInstance& s = p.stage(id);
  std::string n = fmt::format("#{} {}", id, s.kind);
  const std::string sum = lang::stage_summary(s);
  if (!sum.empty()) n += " " + sum;
  if (n.size() > 34) n = n.substr(0, 33) + "…";
  // Its name and its branch are never cut: they tell a sweep's stages apart.
  if (!s.as_name.empty()) n += " as " + s.as_name;
  if (!s.where.empty()) n += " [" + s.where + "]";
  return n;
}

std::size_t stage_name_width(const Plan& p, std::size_t least) {
  std::size_t w = least;
  for (const auto& step : p.steps) w = std::max<std::size_t>(w, lang::count_code_points(stage_name(p, step.stage)) + 1);
  return w;
}

}  // namespace whittle::runtime
