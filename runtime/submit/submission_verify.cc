// `whittle verify`'s checks (submission.h): reading a submission and its claims, unpacking it safely,
// and recomputing every claim.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "runtime/cache/store.h"
#include "runtime/exec/executor.h"
#include "runtime/plan/metrics.h"
#include "runtime/plan/params.h"
#include "runtime/submit/submission.h"
#include "runtime/system/atomic_file.h"
#include "runtime/system/sha256.h"
#include "runtime/torch/api.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

constexpr double kAccuracyTolerance = 0.002;  // 0.2 points: 20 of CIFAR-10's 10,000 test images

/// What claims.json must hold, each of its type: why not, or empty.
std::string check_claims_format(const nlohmann::json& info) {
  using T = nlohmann::json::value_t;
  auto is_int = [](const nlohmann::json& v) { return v.is_number_integer() || v.is_number_unsigned(); };
  if (!info.is_object()) return "it is not a JSON object";
  const std::vector<std::pair<const char*, T>> fields = {{"format", T::number_integer},
                                                         {"recipe", T::string},
                                                         {"recipe_file", T::string},
                                                         {"sets", T::array},
                                                         {"model_stage", T::number_integer},
                                                         {"model_key", T::string},
                                                         {"evaluate_stage", T::number_integer},
                                                         {"whittle_version", T::string},
                                                         {"claims", T::object},
                                                         {"score_preset", T::string}};
  for (const auto& [name, type] : fields) {
    if (!info.contains(name)) return fmt::format("it has no `{}`", name);
    const auto& v = info.at(name);
    const bool ok = type == T::number_integer ? is_int(v) : v.type() == type;
    if (!ok)
      return fmt::format("its `{}` is {} where the format has {}", name, v.type_name(),
                         nlohmann::json(type).type_name());
  }
  if (info.at("format").get<long long>() != kSubmissionFormat)
    return fmt::format("it is of format {}, and this whittle reads {}", info.at("format").dump(), kSubmissionFormat);
  for (const auto& v : info.at("sets"))
    if (!v.is_string()) return "its `sets` are not all strings";
  for (const auto& d : metric_defs()) {
    if (!d.claimed) continue;
    if (!info.at("claims").contains(d.key))
      return fmt::format("it claims no `{}` ({}): every claim of the format must be there", d.key, d.label);
    if (!info.at("claims").at(d.key).is_number()) return fmt::format("its claim `{}` is not a number", d.key);
  }
  for (const char* id : {"model_stage", "evaluate_stage"})
    if (std::llabs(info.at(id).get<long long>()) > 1 << 30) return fmt::format("its `{}` is out of range", id);
  if (info.contains("exports")) {  // optional: submissions made before exports were claimed have none
    if (!info.at("exports").is_array()) return "its `exports` is not a list";
    for (const auto& e : info.at("exports")) {
      if (!e.is_object() || !e.contains("stage") || !is_int(e.at("stage")) || !e.contains("file") ||
          !e.at("file").is_string())
        return "an entry of its `exports` has no `stage` number or `file` name";
      for (const char* k : {"accuracy", "agreement", "max_logit_diff"})
        if (!e.contains(k) || !e.at(k).is_number())
          return fmt::format("an entry of its `exports` has no number `{}`", k);
      if (std::llabs(e.at("stage").get<long long>()) > 1 << 30)
        return "an entry of its `exports` has a stage out of range";
      if (e.contains("images") && !is_int(e.at("images")))
        return "an entry of its `exports` has `images` that is not a whole number";
    }
  }
  if (info.contains("measured_on")) {  // optional: submissions made before it was claimed have none
    const auto& m = info.at("measured_on");
    if (!m.is_object() || !m.contains("split") || !m.at("split").is_string() || !m.contains("images") ||
        !is_int(m.at("images")) || !m.contains("split_images") || !is_int(m.at("split_images")))
      return "its `measured_on` is not {split, images, split_images}";
    if (m.at("split") != "test")
      return "its `measured_on` is not the test split, and a submission claims the test accuracy";
  }
  return "";
}

/// Where the submission's recipe is inside the unpacked folder: a file it holds under recipe/, or
/// empty (never a path that leaves the folder).
std::string recipe_inside(const SubmissionFiles& files, const std::string& recipe_file) {
  const fs::path p = fs::path(recipe_file).lexically_normal();
  if (recipe_file.empty() || p.is_absolute() || p.begin() == p.end() || *p.begin() != "recipe") return "";
  for (const auto& part : p)
    if (part == "..") return "";
  if (!files.count(p.generic_string())) return "";
  return p.generic_string();
}

}  // namespace

OpenedSubmission open_submission(const std::string& file) {
  std::string top, error;
  auto files = read_submission(file, top, error);
  if (!files) throw SubmissionError(error);
  // The manifest: every file listed, every listed file there and unchanged.
  if (!files->count("MANIFEST.sha256")) throw SubmissionError("it has no MANIFEST.sha256");
  std::map<std::string, std::string> listed;
  std::istringstream in(files->at("MANIFEST.sha256"));
  for (std::string line; std::getline(in, line);) {
    if (line.size() < 67 || line.substr(64, 2) != "  ")
      throw SubmissionError("its MANIFEST.sha256 is not a list of `SHA256  PATH` lines");
    listed[line.substr(66)] = line.substr(0, 64);
  }
  for (const auto& [path, bytes] : *files) {
    if (path == "MANIFEST.sha256") continue;
    auto it = listed.find(path);
    if (it == listed.end()) throw SubmissionError(fmt::format("`{}` is not in its manifest", path));
    if (it->second != sha256_hex(bytes))
      throw SubmissionError(fmt::format("`{}` does not match its manifest checksum: it was changed", path));
  }
  for (const auto& [path, sum] : listed)
    if (!files->count(path)) throw SubmissionError(fmt::format("`{}` is in its manifest but not in the archive", path));
  for (const char* need : {"claims.json", "run.yaml", kModelFile})
    if (!files->count(need)) throw SubmissionError(fmt::format("it has no {}", need));
  nlohmann::json info;
  try {
    info = nlohmann::json::parse(files->at("claims.json"));
  } catch (const std::exception& e) {
    throw SubmissionError(fmt::format("its claims.json is not JSON: {}", e.what()));
  }
  if (const std::string why = check_claims_format(info); !why.empty())
    throw SubmissionError("its claims.json is malformed: " + why);
  OpenedSubmission s;
  s.recipe_file = recipe_inside(*files, info.at("recipe_file").get<std::string>());
  if (s.recipe_file.empty())
    throw SubmissionError("its claims.json names no recipe file that the submission holds under recipe/");
  s.sets = info.at("sets").get<std::vector<std::string>>();
  s.model_stage = static_cast<int>(info.at("model_stage").get<long long>());
  s.evaluate_stage = static_cast<int>(info.at("evaluate_stage").get<long long>());
  s.model_key = info.at("model_key").get<std::string>();
  s.score_preset = info.at("score_preset").get<std::string>();
  if (std::find(score_presets().begin(), score_presets().end(), s.score_preset) == score_presets().end())
    throw SubmissionError(fmt::format(
        "its claims.json is malformed: its `score_preset` `{}` is no preset of this whittle", s.score_preset));
  for (const auto& d : metric_defs())
    if (d.claimed) s.claims[d.key] = info.at("claims").at(d.key).get<double>();
  if (info.contains("measured_on")) {
    s.images = info.at("measured_on").at("images").get<long long>();
    s.split_images = info.at("measured_on").at("split_images").get<long long>();
  }
  for (const auto& e : info.value("exports", nlohmann::json::array())) {
    ExportClaim c;
    c.stage = static_cast<int>(e.at("stage").get<long long>());
    c.file = e.at("file").get<std::string>();
    if (!files->count(c.file) || c.file.rfind("exports/", 0) != 0)
      throw SubmissionError(fmt::format(
          "its claims.json claims an export `{}` that the submission does not hold under exports/", c.file));
    c.accuracy = e.at("accuracy").get<double>();
    c.agreement = e.at("agreement").get<double>();
    c.max_logit_diff = e.at("max_logit_diff").get<double>();
    c.images = e.contains("images") ? e.at("images").get<long long>() : -1;
    s.exports.push_back(c);
  }
  s.files = std::move(*files);
  return s;
}

std::string unpack_submission(const OpenedSubmission& s, const fs::path& root) {
  // Every path is known to be safe (read_submission: regular files inside one folder).
  for (const auto& [path, bytes] : s.files) {
    const fs::path p = root / path;
    fs::create_directories(p.parent_path());
    write_file_atomic(p.string(), bytes);
  }
  return (root / s.recipe_file).string();
}

namespace {

/// Each export the submission holds, read back again by its runtime (OpenCV's DNN, LibTorch's JIT)
/// and evaluated on the test set beside the recomputed model: its parity as claimed, and as run.yaml has it.
void verify_exports(const Plan& plan, const OpenedSubmission& s, const RunRecord& rec, const std::string& model_entry,
                    std::vector<VerifyRow>& rows) {
  for (const ExportClaim& c : s.exports) {
    const bool ours = c.stage >= 0 && static_cast<std::size_t>(c.stage) < plan.analysis->recipe.stages.size() &&
                      plan.stage(c.stage).is(lang::StageDef::Role::Deliver) &&
                      plan.stage(c.stage).model_in == s.model_stage;
    const std::string what = fmt::format("export {}", c.file.substr(8));
    const std::string claimed =
        fmt::format("{:.2f}% acc, {:.2f}% agree, Δ {:.2g}{}", 100 * c.accuracy, 100 * c.agreement, c.max_logit_diff,
                    c.images >= 0 ? fmt::format(", {} images", c.images) : "");
    if (!ours) {
      rows.push_back({what, claimed, fmt::format("#{}: no export of the submitted model", c.stage), false});
      continue;
    }
    const StageRecord* r = record_of(rec, c.stage);
    const bool recorded =
        r && r->metrics.find("export_accuracy") != r->metrics.end() && r->metrics.at("export_accuracy") == c.accuracy &&
        r->metrics.at("export_agreement") == c.agreement && r->metrics.at("export_max_logit_diff") == c.max_logit_diff;
    std::map<std::string, double> found;
    try {
      found = torch_api().recompute_export(plan, c.stage, model_entry, s.files.at(c.file));
    } catch (const std::exception& e) {
      rows.push_back({what, claimed, fmt::format("cannot be evaluated again: {}", e.what()), false});
      continue;
    }
    const double tolerance = Params(plan.stage(c.stage)).number("tolerance");
    const double acc = found.at("export_accuracy"), agree = found.at("export_agreement"),
                 diff = found.at("export_max_logit_diff");
    const auto images = static_cast<long long>(found.at("export_images"));
    const bool ok = std::fabs(acc - c.accuracy) <= kAccuracyTolerance &&
                    std::fabs(agree - c.agreement) <= kAccuracyTolerance && diff <= tolerance &&
                    c.max_logit_diff <= tolerance && (c.images < 0 || c.images == images);
    rows.push_back({what, claimed,
                    fmt::format("{:.2f}% acc, {:.2f}% agree, Δ {:.2g}{}{}", 100 * acc, 100 * agree, diff,
                                c.images >= 0 ? fmt::format(", {} images", images) : "",
                                recorded ? "" : " (run.yaml says otherwise)"),
                    ok && recorded});
  }
}

}  // namespace

bool Verification::ok() const {
  for (const auto& r : rows)
    if (!r.ok) return false;
  return complete;
}

const lang::StageInstance* scripted_model(const Plan& plan) {
  for (const auto& st : plan.analysis->recipe.stages)
    if (st.is(lang::StageDef::Role::Start) && Params(st).word("arch") == "torchscript") return &st;
  return nullptr;
}

Verification verify_submission(const Plan& plan, const OpenedSubmission& s, const fs::path& root,
                               const fs::path& scratch, bool in_sandbox) {
  // A network scripted in PyTorch is code (its forward, its __setstate__): outside a sandbox, verify
  // runs none of it (the command line starts one where it can: cmd_submit.cc).
  if (const lang::StageInstance* st = scripted_model(plan); st && !in_sandbox)
    throw SubmissionError(
        fmt::format(
            "its recipe scripts its network in PyTorch ({}): evaluating it would run code the submission brings, "
            "and verify runs none outside a sandbox",
            stage_name(plan, st->id)),
        "install bubblewrap (Debian's `bubblewrap`) for verify to run it in one, or write the network in the recipe "
        "with `network` (docs/networks.md) and submit again");
  Verification v;
  auto& rows = v.rows;
  // The run record belongs to this recipe: the same stages with the same keys.
  const auto rec = read_record((root / "run.yaml").string());
  if (!rec) throw SubmissionError("its run.yaml is not a run record");
  std::size_t same_keys = 0;
  for (const auto& step : plan.steps) {
    const StageRecord* r = record_of(*rec, step.stage);
    same_keys += r && r->key == step.key;
  }
  rows.push_back({"run record of this recipe", fmt::format("{} stages", rec->stages.size()),
                  fmt::format("{} of {} keys equal", same_keys, plan.steps.size()),
                  same_keys == plan.steps.size() && rec->stages.size() == plan.steps.size()});
  // What the accuracy was measured on: a claim of test accuracy is of the whole test set.
  const bool eval_ok = s.evaluate_stage >= 0 &&
                       static_cast<std::size_t>(s.evaluate_stage) < plan.analysis->recipe.stages.size() &&
                       plan.stage(s.evaluate_stage).is(lang::StageDef::Role::Measure) &&
                       plan.stage(s.evaluate_stage).model_in == s.model_stage;
  const long long subset = eval_ok ? test_subset_of(plan, s.evaluate_stage) : 0;
  const std::size_t measured_row = rows.size();
  rows.push_back({"accuracy measured on",
                  s.images >= 0 ? fmt::format("the whole test set ({} of {} images)", s.images, s.split_images)
                                : "the whole test set",
                  !eval_ok     ? fmt::format("#{}: no evaluation of this model", s.evaluate_stage)
                  : subset > 0 ? fmt::format("{} test images (test_subset): not the test accuracy", subset)
                               : "the whole test set (" + stage_name(plan, s.evaluate_stage) + ")",
                  eval_ok && subset == 0});
  const int model = s.model_stage;
  const bool model_ok = model >= 0 && static_cast<std::size_t>(model) < plan.analysis->recipe.stages.size() &&
                        plan.stage(model).produces_model() &&
                        plan.keys.at(static_cast<std::size_t>(model)) == s.model_key;
  const std::string as = model_ok && !plan.stage(model).as_name.empty() ? " as " + plan.stage(model).as_name : "";
  rows.push_back({"model is the recipe's", fmt::format("#{}", model),
                  model_ok ? stage_name(plan, model) + as : "no such model stage", model_ok});
  if (!model_ok) return v;
  const StageRecord* m = record_of(*rec, model);
  fs::create_directories(scratch / "entry");
  fs::copy_file(root / kModelFile, scratch / "entry" / kModelFile);
  std::map<std::string, double> found;
  try {
    found = torch_api().recompute_claims(plan, model, (scratch / "entry").string(), eval_ok ? s.evaluate_stage : -1);
  } catch (const StageError&) {
    throw;
  } catch (const std::exception& e) {
    throw SubmissionError(fmt::format("its model cannot be loaded into the recipe's architecture: {}", e.what()));
  }
  // The images the evaluation read here, against those claimed (where claimed).
  if (VerifyRow& r = rows[measured_row]; r.ok && recorded(found, "test_images")) {
    const auto n = static_cast<long long>(found.at("test_images"));
    r.found += fmt::format(", {} images", n);
    r.ok = s.images < 0 || (s.images == n && s.split_images == n);
  }
  // The model must be one the recipe can make: what follows from the recipe alone (its parameters,
  // its bit widths, at least the share its prunes remove) is worked out without the submission.
  const auto previews = torch_api().preview_plan(plan);
  if (auto it = previews.find(model); it != previews.end() && it->second.note.empty()) {
    const auto& want = it->second.metrics;
    const bool params = want.at("params") == found.at("params") || it->second.estimated;
    const bool bits = want.at("bits") == found.at("bits") && want.at("activation_bits") == found.at("activation_bits");
    // At least what the recipe's prunes remove (their masks' share; a quantizer's rounding adds zeros
    // that depend on the trained weights, so the preview's own zero count is no bound).
    const double pruned = recorded(want, "masked_sparsity") ? want.at("masked_sparsity") : want.at("sparsity");
    const bool sparsity = it->second.estimated || found.at("sparsity") + 1e-9 >= pruned;
    // params, bits, sparsity: "105914 p, 32 b, ≥71.25%"
    rows.push_back(
        {"model fits the recipe",
         fmt::format("{:.0f} p, {:.4g} b, ≥{:.2f}%", want.at("params"), want.at("bits"), 100 * pruned),
         fmt::format("{:.0f} p, {:.4g} b, {:.2f}%", found.at("params"), found.at("bits"), 100 * found.at("sparsity")),
         params && bits && sparsity});
  }
  for (const auto& d : metric_defs()) {
    if (!d.claimed) continue;
    const double claimed = s.claims.at(d.key);
    const double value = found.count(d.key) ? found.at(d.key) : std::nan("");
    const bool is_acc = std::string(d.key) == "accuracy";
    const bool ok = is_acc ? std::fabs(claimed - value) <= kAccuracyTolerance
                           : std::fabs(claimed - value) <= 1e-9 * std::max(1.0, std::fabs(claimed));
    // The run record must say the same as the claims.
    const StageRecord* ev = record_of(*rec, s.evaluate_stage);
    const StageRecord* from = is_acc || (ev && runtime::recorded(ev->metrics, d.key)) ? ev : m;
    const bool recorded = from && from->metrics.count(d.key) && from->metrics.at(d.key) == claimed;
    const bool shown = d.key == score_key(s.score_preset);  // the preset the recipe scores with
    rows.push_back({std::string(d.label) + (shown ? ", the recipe's" : ""), fmt::format("{:.10g}", claimed),
                    fmt::format("{:.10g}{}", value, recorded ? "" : " (run.yaml says otherwise)"), ok && recorded});
  }
  verify_exports(plan, s, *rec, (scratch / "entry").string(), rows);
  v.complete = true;
  return v;
}

}  // namespace whittle::runtime
