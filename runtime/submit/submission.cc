#include "runtime/submit/submission.h"
#include "runtime/plan/named_model.h"

#include "runtime/exec/search_run.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "runtime/cache/store.h"
#include "runtime/plan/export_format.h"
#include "runtime/plan/metrics.h"
#include "runtime/plan/params.h"
#include "runtime/system/sha256.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

std::string manifest(const SubmissionFiles& files) {
  std::string out;
  for (const auto& [path, bytes] : files)
    if (path != "MANIFEST.sha256") out += sha256_hex(bytes) + "  " + path + "\n";
  return out;
}

/// The test-set evaluation of that model (the last one), or -1.
int final_evaluation(const Plan& p, int model) {
  int found = -1;
  for (const auto& step : p.steps) {
    const lang::StageInstance& s = p.stage(step.stage);
    if (s.is(lang::StageDef::Role::Measure) && s.model_in == model && Params(s).word("split") == "test") found = s.id;
  }
  return found;
}

std::string read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof())
    throw SubmissionError(fmt::format("cannot read {}", path.string()),
                          "`whittle cache verify`, then run the recipe again");
  return bytes;
}

}  // namespace

/// How many test images the data a stage reads keeps (`test_subset`); 0: the whole test set.
long long test_subset_of(const Plan& p, int stage) {
  // The evaluation's own slice, else its data's.
  const Params own(p.stage(stage));
  if (const long long n = own.declares("test_subset") ? own.count("test_subset") : 0; n > 0) return n;
  const int data = p.stage(stage).data_in;
  return data >= 0 ? Params(p.stage(data)).count("test_subset") : 0;
}

TempDir::TempDir() {
  std::error_code ec;
  const fs::path base = fs::temp_directory_path(ec);
  std::string tmpl = ((ec ? fs::path("/tmp") : base) / "whittle-XXXXXX").string();
  if (!::mkdtemp(tmpl.data()))
    throw LocalError(fmt::format("cannot create a temporary folder in `{}`: {}", fs::path(tmpl).parent_path().string(),
                                 std::strerror(errno)));
  path = tmpl;
}
TempDir::~TempDir() { remove_tree(path.string()); }

Submission make_submission(Run run, const std::string& recipe_file, const std::vector<std::string>& sets,
                           const std::string& model_name) {
  const Plan& plan = *run.plan;
  const std::set<int> candidates = search_candidate_stages(plan);  // those a search did not need are skipped
  for (const auto& step : plan.steps) {
    const StageRecord* s = record_of(run.record, step.stage);
    const bool done =
        s && (s->status == "ran" || s->status == "cached" || (s->status == "skipped" && candidates.count(step.stage)));
    if (!s || s->key != step.key || !done)
      throw SubmissionError(
          fmt::format("the last run of {} is not of the recipe as it is now ({}): nothing to submit yet", recipe_file,
                      stage_name(plan, step.stage)),
          fmt::format("run it first: whittle run {}", recipe_file));
  }
  Submission out;
  int model = -1;
  try {
    model = out.model_stage = named_model(plan, model_name, recipe_file);
  } catch (const ModelNameError& e) {
    throw SubmissionError(e.what(), e.help);
  }
  const int eval = model < 0 ? -1 : final_evaluation(plan, model);
  if (eval < 0)
    throw SubmissionError(
        fmt::format("{} does not evaluate {} on the test set, so there is no accuracy to submit", recipe_file,
                    model < 0 ? "a model" : "the model it would submit (" + stage_name(plan, model) + ")"),
        model_name.empty() ? "end the recipe with `evaluate`" : "add an `evaluate` right after it");
  // A claim of test accuracy is of the whole test set.
  if (const long long n = test_subset_of(plan, eval); n > 0)
    throw SubmissionError(
        fmt::format(
            "the test accuracy of {} was measured on {} test images (`test_subset: {}` at {}), not on the whole "
            "test set, and a submission claims the test accuracy",
            stage_name(plan, eval), n, n, where_written(plan, plan.stage(eval).data_in)),
        "run it on the whole test set (leave `test_subset` out, or --set test_subset=0 where it is a `let`), then "
        "submit");
  const StageRecord& m = *record_of(run.record, model);
  nlohmann::json claims = nlohmann::json::object();
  for (const auto& d : metric_defs()) {
    if (!d.claimed) continue;
    // As the evaluation deployed the model (its test-time views in the score), else the model's own.
    const Metrics& ev = record_of(run.record, eval)->metrics;
    const auto& metrics = std::string(d.key) == "accuracy" || recorded(ev, d.key) ? ev : m.metrics;
    if (!metrics.count(d.key))
      throw SubmissionError(
          fmt::format("the run record of {} has no {} for the model it would submit", recipe_file, d.label),
          fmt::format("run it again with this whittle (`whittle run {}`)", recipe_file));
    claims[d.key] = metrics.at(d.key);
    out.claims.emplace_back(d.key, metrics.at(d.key));
  }
  // Only a model whose entry checks out is packed: a damaged one would be a claim about other bytes.
  if (std::string why; !run.store->verify(m.key, why))
    throw SubmissionError(
        fmt::format("the cache entry of the model to submit ({}) is corrupt: {}", stage_name(plan, model), why),
        fmt::format("run the recipe again (`whittle run {}`): it recomputes the entry", recipe_file));
  SubmissionFiles& files = out.files;
  // The recipe and every file it uses, by their paths relative to the recipe's folder.
  const lang::Analysis& a = *plan.analysis;
  const fs::path base = fs::absolute(recipe_file).parent_path();
  std::string recipe_path;
  for (std::size_t i = 0; i < a.sources.size(); ++i) {
    const auto& f = a.sources.file(static_cast<lang::FileId>(i));
    if (f.name().rfind("std/", 0) == 0 || f.name().find('<') != std::string::npos)
      continue;  // the standard library is in every whittle
    // Only files: a `--set` value is a source of its own ("--set epochs"), and claims.json's `sets`
    // carry it.
    std::error_code ec;
    if (!fs::is_regular_file(f.name(), ec)) continue;
    const fs::path rel = fs::absolute(f.name()).lexically_normal().lexically_relative(base);
    if (rel.empty() || *rel.begin() == "..")
      throw SubmissionError(
          fmt::format("{} uses {}, which is outside the recipe's folder, so a submission cannot hold it", recipe_file,
                      f.name()),
          "move it next to the recipe (or below) and `use` it from there");
    files["recipe/" + rel.generic_string()] = f.text();
    if (static_cast<lang::FileId>(i) == a.main) recipe_path = "recipe/" + rel.generic_string();
  }
  // The modules scripted in PyTorch that `model torchscript` reads: the recipe cannot run without them.
  for (const auto& st : a.recipe.stages) {
    if (st.file.empty()) continue;
    const fs::path rel = fs::path(st.file).lexically_normal().lexically_relative(base);
    if (rel.empty() || *rel.begin() == "..")
      throw SubmissionError(
          fmt::format(
              "{} reads the scripted model {}, which is outside the recipe's folder, so a submission cannot hold it",
              recipe_file, st.file),
          "move it next to the recipe (or below) and give that path to `model torchscript`");
    files["recipe/" + rel.generic_string()] = read_whole(st.file);
  }
  // The ONNX and TorchScript exports of the submitted model, with their parity claims.
  nlohmann::json exports = nlohmann::json::array();
  for (const auto& st : a.recipe.stages) {
    const StageRecord* r =
        st.is(lang::StageDef::Role::Deliver) && st.model_in == model ? record_of(run.record, st.id) : nullptr;
    if (!r || r->metrics.find("export_agreement") == r->metrics.end()) continue;
    const fs::path entry = fs::path(run.store->entry_dir(r->key)) / export_entry_file(st);
    std::string name = "exports/" + fs::path(Params(st).word("path")).filename().string();
    if (files.count(name)) name = fmt::format("exports/{}-{}", st.id, fs::path(name).filename().string());
    files[name] = read_whole(entry);
    exports.push_back({{"stage", st.id},
                       {"file", name},
                       {"accuracy", r->metrics.at("export_accuracy")},
                       {"agreement", r->metrics.at("export_agreement")},
                       {"max_logit_diff", r->metrics.at("export_max_logit_diff")}});
    if (recorded(r->metrics, "images")) exports.back()["images"] = static_cast<long long>(r->metrics.at("images"));
  }
  files["run.yaml"] = record_yaml(run.record);
  files[kModelFile] = read_whole(fs::path(run.store->entry_dir(m.key)) / kModelFile);
  nlohmann::json info = {{"format", kSubmissionFormat},
                         {"recipe", run.record.recipe},
                         {"recipe_file", recipe_path},
                         {"sets", sets},
                         {"model_stage", model},
                         {"model_key", m.key},
                         {"evaluate_stage", eval},
                         {"whittle_version", WHITTLE_VERSION},
                         {"claims", claims},
                         {"score_preset", plan.score_preset},
                         {"exports", exports}};
  // What the accuracy was measured on: its split, and how many of its images (all of them).
  if (const StageRecord* e = record_of(run.record, eval); e && !measured_split(*e).empty())
    info["measured_on"] = {{"split", measured_split(*e)},
                           {"images", static_cast<long long>(e->metrics.at("images"))},
                           {"split_images", static_cast<long long>(e->metrics.at("split_images"))}};
  files["claims.json"] = info.dump(1) + "\n";
  // The report: tables and plots of the run, drawn in a scratch folder.
  out.recipe = run.record.recipe;
  out.model_name = stage_name(plan, model);
  out.score_preset = plan.score_preset;
  TempDir tmp;
  std::vector<Run> runs;
  runs.push_back(std::move(run));
  const ReportOutcome rep = write_report(runs, tmp.path, model_name);
  out.report_note = rep.problem;
  for (const auto& e : fs::directory_iterator(tmp.path))
    if (e.is_regular_file()) files["report/" + e.path().filename().string()] = read_whole(e.path());
  files["MANIFEST.sha256"] = manifest(files);
  return out;
}

}  // namespace whittle::runtime
