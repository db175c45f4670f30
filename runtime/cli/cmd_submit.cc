// `whittle submit RECIPE -o FILE`: one archive (tar.gz, written with libarchive) holding the recipe
// and every file it uses, the run record, the final model, the claims made about it, the report's
// tables and plots, and a SHA-256 manifest of all of them.
// `whittle verify FILE`: unpacks it safely (no path may leave its folder, only regular files),
// checks the manifest, rebuilds the model from the recipe and its checkpoint, recomputes every claim
// (parameters, non-zero weights, sparsity, MACs, bits, score, sizes, and the test accuracy on the test
// set itself) and says what matches and what does not. Checksums only catch careless damage; the
// recomputation is what catches a model or a claim that was changed and re-summed.
#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "lang/analyze.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/common.h"
#include "runtime/cli/recipes.h"
#include "runtime/cli/report.h"
#include "runtime/executor.h"
#include "runtime/sha256.h"
#include "runtime/submission_archive.h"
#include "runtime/torch_api.h"

namespace whittle::cli {
namespace fs = std::filesystem;

namespace {

constexpr int kSubmissionFormat = 1;
constexpr double kAccuracyTolerance = 0.002;      // 0.2 points: 20 of CIFAR-10's 10,000 test images
using Files = runtime::SubmissionFiles;

/// A fresh private folder under the system's temporary folder, removed with the object.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "whittle-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a temporary folder");
    path = tmpl;
  }
  ~TempDir() { runtime::remove_tree(path.string()); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

std::string manifest(const Files& files) {
  std::string out;
  for (const auto& [path, bytes] : files)
    if (path != "MANIFEST.sha256") out += runtime::sha256_hex(bytes) + "  " + path + "\n";
  return out;
}

/// The stage whose model a run ends with: the model its last stage holds.
int final_model_stage(const runtime::Plan& p) {
  const lang::StageInstance& last = p.stage(p.steps.back().stage);
  return last.produces_model() ? last.id : last.model_in;
}

/// The test-set evaluation of that model (the last one), or -1.
int final_evaluation(const runtime::Plan& p, int model) {
  int found = -1;
  for (const auto& step : p.steps) {
    const lang::StageInstance& s = p.stage(step.stage);
    if (s.kind == "evaluate" && s.model_in == model && s.value("split")->str == "test") found = s.id;
  }
  return found;
}

const runtime::StageRecord* record_of(const runtime::RunRecord& r, int id) {
  for (const auto& s : r.stages)
    if (s.id == id) return &s;
  return nullptr;
}

/// The figures a submission claims, and how a recomputed one must match.
const std::vector<std::pair<const char*, const char*>>& claim_names() {
  static const std::vector<std::pair<const char*, const char*>> names = {
      {"accuracy", "test accuracy"}, {"params", "parameters"},     {"nonzero", "non-zero parameters"}, {"sparsity", "sparsity"},
      {"macs", "MACs"},             {"bits", "bits"},              {"score", "score (course2025)"},    {"size_mib", "size (MiB)"},
      {"packed_mib", "packed size (MiB)"}, {"sparse_mib", "sparse size (MiB)"}};
  return names;
}

int submit(const RecipeOptions& o, std::string out) {
  auto run = load_run(o.file, o.sets, o.cache);
  if (!run) return 1;
  const runtime::Plan& plan = *run->plan;
  for (const auto& step : plan.steps) {
    const runtime::StageRecord* s = record_of(run->record, step.stage);
    if (!s || s->key != step.key || (s->status != "ran" && s->status != "cached")) {
      std::fprintf(stderr, "error: the last run of %s is not of the recipe as it is now (%s): nothing to submit yet\n"
                           "  help: run it first: whittle run %s\n",
                   o.file.c_str(), stage_name(plan, step.stage).c_str(), o.file.c_str());
      return 1;
    }
  }
  const int model = final_model_stage(plan);
  const int eval = model < 0 ? -1 : final_evaluation(plan, model);
  if (eval < 0) {
    std::fprintf(stderr, "error: %s does not evaluate its final model on the test set, so there is no accuracy to submit\n"
                         "  help: end the recipe with `evaluate`\n", o.file.c_str());
    return 1;
  }
  const runtime::StageRecord& m = *record_of(run->record, model);
  nlohmann::json claims = nlohmann::json::object();
  for (const auto& [key, label] : claim_names()) {
    const auto& metrics = std::string(key) == "accuracy" ? record_of(run->record, eval)->metrics : m.metrics;
    if (!metrics.count(key)) {
      std::fprintf(stderr, "error: the run record of %s has no %s for the model it would submit\n"
                           "  help: run it again with this whittle (`whittle run %s`)\n", o.file.c_str(), label, o.file.c_str());
      return 1;
    }
    claims[key] = metrics.at(key);
  }
  // Only a model whose entry checks out is packed: a damaged one would be a claim about other bytes.
  if (std::string why; !run->store->verify(m.key, why)) {
    std::fprintf(stderr, "error: the cache entry of the model to submit (%s) is corrupt: %s\n"
                         "  help: run the recipe again (`whittle run %s`): it recomputes the entry\n",
                 stage_name(plan, model).c_str(), why.c_str(), o.file.c_str());
    return 1;
  }
  Files files;
  // The recipe and every file it uses, by their paths relative to the recipe's folder.
  const lang::Analysis& a = *plan.analysis;
  const fs::path base = fs::absolute(o.file).parent_path();
  std::string recipe_path;
  for (std::size_t i = 0; i < a.sources.size(); ++i) {
    const auto& f = a.sources.file(static_cast<lang::FileId>(i));
    if (f.name().rfind("std/", 0) == 0 || f.name().find('<') != std::string::npos) continue;  // the standard library is in every whittle
    const fs::path rel = fs::absolute(f.name()).lexically_normal().lexically_relative(base);
    if (rel.empty() || *rel.begin() == "..") {
      std::fprintf(stderr, "error: %s uses %s, which is outside the recipe's folder, so a submission cannot hold it\n"
                           "  help: move it next to the recipe (or below) and `use` it from there\n", o.file.c_str(), f.name().c_str());
      return 1;
    }
    files["recipe/" + rel.generic_string()] = f.text();
    if (static_cast<lang::FileId>(i) == a.main) recipe_path = "recipe/" + rel.generic_string();
  }
  files["run.yaml"] = runtime::record_yaml(run->record);
  std::string error;
  auto model_bytes = read_file((fs::path(run->store->entry_dir(m.key)) / "model.pt").string(), error);
  if (!model_bytes) {
    std::fprintf(stderr, "error: %s\n  help: `whittle cache verify`, then run the recipe again\n", error.c_str());
    return 1;
  }
  files["model.pt"] = std::move(*model_bytes);
  nlohmann::json info = {{"format", kSubmissionFormat}, {"recipe", run->record.recipe},     {"recipe_file", recipe_path},
                         {"sets", o.sets},             {"model_stage", model},              {"model_key", m.key},
                         {"evaluate_stage", eval},      {"whittle_version", WHITTLE_VERSION}, {"claims", claims}};
  files["claims.json"] = info.dump(1) + "\n";
  // The report: tables and plots of the run.
  TempDir tmp;
  std::vector<Run> runs;
  runs.push_back(std::move(*run));
  const ReportOutcome rep = write_report(runs, tmp.path);
  if (!rep.problem.empty()) std::fprintf(stderr, "note: %s\n", rep.problem.c_str());
  for (const auto& e : fs::directory_iterator(tmp.path))
    if (auto bytes = e.is_regular_file() ? read_file(e.path().string(), error) : std::nullopt)
      files["report/" + e.path().filename().string()] = std::move(*bytes);
  files["MANIFEST.sha256"] = manifest(files);
  if (out.empty()) out = runs[0].record.recipe + ".submission.tar.gz";
  if (!runtime::write_submission(out, runs[0].record.recipe, files, error)) {
    std::fprintf(stderr, "error: cannot write %s: %s\n", out.c_str(), error.c_str());
    return 1;
  }
  std::printf("%s: %zu files (recipe, run record, model of %s, claims, report)\n", out.c_str(), files.size(),
              stage_name(*runs[0].plan, model).c_str());
  for (const auto& [key, label] : claim_names())
    if (claims.contains(key)) std::printf("  %-22s %s\n", label, claims[key].dump().c_str());
  return 0;
}

/// What claims.json must hold, each of its type: why not, or empty.
std::string check_claims_format(const nlohmann::json& info) {
  using T = nlohmann::json::value_t;
  auto is_int = [](const nlohmann::json& v) { return v.is_number_integer() || v.is_number_unsigned(); };
  if (!info.is_object()) return "it is not a JSON object";
  const std::vector<std::pair<const char*, T>> fields = {{"format", T::number_integer}, {"recipe", T::string},     {"recipe_file", T::string},
                                                          {"sets", T::array},            {"model_stage", T::number_integer}, {"model_key", T::string},
                                                          {"evaluate_stage", T::number_integer}, {"whittle_version", T::string},
                                                          {"claims", T::object}};
  for (const auto& [name, type] : fields) {
    if (!info.contains(name)) return fmt::format("it has no `{}`", name);
    const auto& v = info.at(name);
    const bool ok = type == T::number_integer ? is_int(v) : v.type() == type;
    if (!ok) return fmt::format("its `{}` is {} where the format has {}", name, v.type_name(), nlohmann::json(type).type_name());
  }
  if (info.at("format").get<long long>() != kSubmissionFormat) return fmt::format("it is of format {}, and this whittle reads {}", info.at("format").dump(), kSubmissionFormat);
  for (const auto& v : info.at("sets"))
    if (!v.is_string()) return "its `sets` are not all strings";
  for (const auto& [key, label] : claim_names()) {
    if (!info.at("claims").contains(key)) return fmt::format("it claims no `{}` ({}): every claim of the format must be there", key, label);
    if (!info.at("claims").at(key).is_number()) return fmt::format("its claim `{}` is not a number", key);
  }
  return "";
}

/// Where the submission's recipe is inside the unpacked folder: a file it holds under recipe/, or
/// nullopt (never a path that leaves the folder).
std::optional<std::string> recipe_inside(const Files& files, const std::string& recipe_file) {
  const fs::path p = fs::path(recipe_file).lexically_normal();
  if (recipe_file.empty() || p.is_absolute() || p.begin() == p.end() || *p.begin() != "recipe") return std::nullopt;
  for (const auto& part : p)
    if (part == "..") return std::nullopt;
  if (!files.count(p.generic_string())) return std::nullopt;
  return p.generic_string();
}

int verify_unpacked(const std::string& file, const std::string& data, const Files& files, const TempDir& tmp);

int verify(const std::string& file, const std::string& data) {
  std::string top, error;
  auto files = runtime::read_submission(file, top, error);
  auto reject = [&](const std::string& why) {
    std::fprintf(stderr, "error: %s is rejected: %s\n", file.c_str(), why.c_str());
    return 1;
  };
  if (!files) return reject(error);
  // The manifest: every file listed, every listed file there and unchanged.
  if (!files->count("MANIFEST.sha256")) return reject("it has no MANIFEST.sha256");
  std::map<std::string, std::string> listed;
  std::istringstream in(files->at("MANIFEST.sha256"));
  for (std::string line; std::getline(in, line);) {
    if (line.size() < 67 || line.substr(64, 2) != "  ") return reject("its MANIFEST.sha256 is not a list of `SHA256  PATH` lines");
    listed[line.substr(66)] = line.substr(0, 64);
  }
  for (const auto& [path, bytes] : *files) {
    if (path == "MANIFEST.sha256") continue;
    auto it = listed.find(path);
    if (it == listed.end()) return reject(fmt::format("`{}` is not in its manifest", path));
    if (it->second != runtime::sha256_hex(bytes)) return reject(fmt::format("`{}` does not match its manifest checksum: it was changed", path));
  }
  for (const auto& [path, sum] : listed)
    if (!files->count(path)) return reject(fmt::format("`{}` is in its manifest but not in the archive", path));
  for (const char* need : {"claims.json", "run.yaml", "model.pt"})
    if (!files->count(need)) return reject(fmt::format("it has no {}", need));
  try {
    TempDir tmp;  // removed on every way out, an exception's included
    return verify_unpacked(file, data, *files, tmp);
  } catch (const std::exception& e) {
    return reject(e.what());
  }
}

int verify_unpacked(const std::string& file, const std::string& data, const Files& files, const TempDir& tmp) {
  auto reject = [&](const std::string& why) {
    std::fprintf(stderr, "error: %s is rejected: %s\n", file.c_str(), why.c_str());
    return 1;
  };
  nlohmann::json info;
  try {
    info = nlohmann::json::parse(files.at("claims.json"));
  } catch (const std::exception& e) {
    return reject(fmt::format("its claims.json is not JSON: {}", e.what()));
  }
  if (const std::string why = check_claims_format(info); !why.empty()) return reject("its claims.json is malformed: " + why);
  const auto recipe_file = recipe_inside(files, info.at("recipe_file").get<std::string>());
  if (!recipe_file) return reject("its claims.json names no recipe file that the submission holds under recipe/");
  // Unpack (only now that every path is known to be safe: regular files inside one folder).
  const fs::path root = tmp.path / "s";
  for (const auto& [path, bytes] : files) {
    const fs::path p = root / path;
    fs::create_directories(p.parent_path());
    runtime::write_file_atomic(p.string(), bytes);
  }
  RecipeOptions o{(root / *recipe_file).string(), info.at("sets").get<std::vector<std::string>>(), (tmp.path / "cache").string(),
                  (root / "recipe").string()};
  std::unique_ptr<runtime::ArtifactStore> store;
  auto plan = load_plan(o, store, data);
  if (!plan) return reject("its recipe cannot be planned here (see above; `--data DIR` says where this machine keeps the data)");
  // The run record belongs to this recipe: the same stages with the same keys.
  const auto rec = runtime::read_record((root / "run.yaml").string());
  if (!rec) return reject("its run.yaml is not a run record");
  bool all_ok = true;
  auto line = [&](const std::string& what, const std::string& claimed, const std::string& found, bool ok) {
    std::printf("%-4s %-24s %-22s %s\n", ok ? "ok" : "FAIL", what.c_str(), claimed.c_str(), found.c_str());
    all_ok = all_ok && ok;
  };
  std::printf("%-4s %-24s %-22s %s\n", "", "", "claimed", "recomputed");
  std::size_t same_keys = 0;
  for (const auto& step : plan->steps) {
    const runtime::StageRecord* s = record_of(*rec, step.stage);
    same_keys += s && s->key == step.key;
  }
  line("run record of this recipe", fmt::format("{} stages", rec->stages.size()), fmt::format("{} of {} keys equal", same_keys, plan->steps.size()),
       same_keys == plan->steps.size() && rec->stages.size() == plan->steps.size());
  const long long model = info.at("model_stage").get<long long>();
  const bool model_ok = model >= 0 && static_cast<std::size_t>(model) < plan->analysis->recipe.stages.size() &&
                        plan->stage(static_cast<int>(model)).produces_model() &&
                        plan->keys.at(static_cast<std::size_t>(model)) == info.at("model_key").get<std::string>();
  line("model is the recipe's", fmt::format("#{}", model), model_ok ? stage_name(*plan, static_cast<int>(model)) : "no such model stage", model_ok);
  if (!model_ok) return 1;
  const int model_id = static_cast<int>(model);
  const runtime::StageRecord* m = record_of(*rec, model_id);
  fs::create_directories(tmp.path / "entry");
  fs::copy_file(root / "model.pt", tmp.path / "entry" / "model.pt");
  std::map<std::string, double> found;
  try {
    found = runtime::torch_api().recompute_claims(*plan, model_id, (tmp.path / "entry").string(), true);
  } catch (const runtime::StageError& e) {
    std::fprintf(stderr, "error: cannot recompute the claims: %s\n%s", e.what(), e.help.empty() ? "" : ("  help: " + e.help + "\n").c_str());
    return 1;
  } catch (const std::exception& e) {
    return reject(fmt::format("its model cannot be loaded into the recipe's architecture: {}", e.what()));
  }
  // The model must be one the recipe can make: what follows from the recipe alone (its parameters,
  // its bit widths, at least the share its prunes remove) is worked out without the submission.
  const auto previews = runtime::torch_api().preview_plan(*plan);
  if (auto it = previews.find(model_id); it != previews.end() && it->second.note.empty()) {
    const auto& want = it->second.metrics;
    const bool params = want.at("params") == found.at("params") || it->second.estimated;
    const bool bits = want.at("bits") == found.at("bits") && want.at("activation_bits") == found.at("activation_bits");
    const bool sparsity = it->second.estimated || found.at("sparsity") + 1e-9 >= want.at("sparsity");
    // params, bits, sparsity: "105914 p, 32 b, ≥71.25%"
    line("model fits the recipe", fmt::format("{:.0f} p, {:.4g} b, ≥{:.2f}%", want.at("params"), want.at("bits"), 100 * want.at("sparsity")),
         fmt::format("{:.0f} p, {:.4g} b, {:.2f}%", found.at("params"), found.at("bits"), 100 * found.at("sparsity")), params && bits && sparsity);
  }
  const auto& claims = info.at("claims");
  for (const auto& [key, label] : claim_names()) {
    const double claimed = claims.at(key).get<double>();
    const double value = found.count(key) ? found.at(key) : std::nan("");
    const bool is_acc = std::string(key) == "accuracy";
    const bool ok = is_acc ? std::fabs(claimed - value) <= kAccuracyTolerance
                           : std::fabs(claimed - value) <= 1e-9 * std::max(1.0, std::fabs(claimed));
    // The run record must say the same as the claims.
    const long long eval = info.at("evaluate_stage").get<long long>();
    const runtime::StageRecord* from = is_acc ? (eval >= 0 && eval < 1 << 30 ? record_of(*rec, static_cast<int>(eval)) : nullptr) : m;
    const bool recorded = from && from->metrics.count(key) && from->metrics.at(key) == claimed;
    line(label, fmt::format("{:.10g}", claimed), fmt::format("{:.10g}{}", value, recorded ? "" : " (run.yaml says otherwise)"), ok && recorded);
  }
  std::printf("%s: %s\n", file.c_str(), all_ok ? "verified: every claim holds" : "NOT verified: the claims marked FAIL do not hold");
  return all_ok ? 0 : 1;
}

}  // namespace

void add_submit(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<RecipeOptions>();
  auto out = std::make_shared<std::string>();
  CLI::App* s = app.add_subcommand("submit", "Pack a recipe's last run into one archive a grader can verify");
  add_recipe_options(s, *o);
  s->add_option("-o,--output", *out, "The archive to write (default: NAME.submission.tar.gz)");
  s->callback([o, out, &exit_code] { exit_code = submit(*o, *out); });

  auto file = std::make_shared<std::string>();
  auto data = std::make_shared<std::string>();
  CLI::App* v = app.add_subcommand("verify", "Check a submission: recompute every claim from its model and the test set");
  v->add_option("file", *file, "The archive from `whittle submit`")->required();
  v->add_option("--data", *data, "Where this machine keeps the data, if not where the recipe says (like $WHITTLE_DATA: "
                                 "a folder holding cifar-10-batches-bin/, or the files themselves)");
  v->callback([file, data, &exit_code] { exit_code = verify(*file, *data); });
}

}  // namespace whittle::cli
