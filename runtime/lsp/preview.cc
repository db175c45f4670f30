// The hover's model preview (preview.h).
#include "runtime/lsp/preview.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "lang/lint/lint.h"
#include "runtime/cache/store.h"
#include "runtime/exec/search_run.h"
#include "runtime/lsp/server.h"
#include "runtime/plan/metrics.h"
#include "runtime/plan/plan.h"
#include "runtime/torch/api.h"
#include "runtime/torch/stages/preview.h"

namespace whittle::lsp {

namespace {

/// A search's candidates before training: how many, the previewed objective's range, what is ruled
/// out statically and the most trainings.
std::string search_markdown(const nlohmann::json& j) {
  const std::string obj = j.at("objective").get<std::string>();
  std::string out = fmt::format("\n---\n**{} candidates**", j.at("candidates").get<int>());
  if (j.contains("no_preview")) return out + " (no preview: " + j.at("no_preview").get<std::string>() + ")\n";
  double lo = 1e300, hi = -1e300;
  bool estimated = false;
  for (const auto& r : j.at("rows")) {
    lo = std::min(lo, r.at("previewed").get<double>());
    hi = std::max(hi, r.at("previewed").get<double>());
    estimated = estimated || r.at("estimated").get<bool>();
  }
  const std::string key = runtime::objective_metric(obj);
  out += fmt::format(": previewed {} from {}{} to {}; {} ruled out before training; at most {} trainings\n", obj,
                     estimated ? "~" : "", runtime::format_metric({{key, lo}}, key),
                     runtime::format_metric({{key, hi}}, key), j.at("ruled_out_statically").get<int>(),
                     j.at("most_trainings").get<int>());
  return out;
}

void compute(std::shared_ptr<Previews::State> st, std::string path, std::string text) {
  std::string error, preset;
  std::map<int, std::map<std::string, double>> metrics;
  std::map<int, int> model_in;
  std::map<int, std::string> notes;
  std::map<int, std::string> searches;
  try {
    auto a = lang::analyze(path, std::move(text));
    if (!a->ok())
      for (const auto& d : a->diags.all())
        if (d.severity == lang::Severity::Error)
          throw std::runtime_error(
              fmt::format("the recipe up to this stage does not check (error {} at line {}: fix it first)", d.code,
                          a->sources.file(d.primary().file).line_of(d.primary().begin)));
    // A store of its own: the preview needs the plan, not the user's cache.
    const std::filesystem::path cache =
        std::filesystem::temp_directory_path() / fmt::format("whittle-lsp-{}", ::getuid()) / "cache";
    runtime::ArtifactStore store(cache.string());
    auto plan = runtime::make_plan(std::move(a), store);
    if (plan->steps.empty())  // the plan stopped at a problem (its data not found, ...)
      for (const auto& d : plan->analysis->diags.all())
        if (d.severity == lang::Severity::Error) throw std::runtime_error(d.code + ": " + d.message);
    preset = plan->score_preset;
    const auto previews = runtime::torch_api().preview_plan(*plan);
    for (const auto& [id, p] : previews) {
      if (p.note.empty())
        metrics[id] = p.metrics;
      else
        notes[id] = p.note;
    }
    runtime::fill_search_objectives(*plan, previews);
    for (const auto& s : plan->analysis->recipe.stages)
      if (s.search) searches[s.id] = search_markdown(runtime::search_plan_json(*plan, s));
    for (const auto& s : plan->analysis->recipe.stages) model_in[s.id] = s.model_in;
  } catch (const std::exception& e) {
    error = e.what();
  }
  std::lock_guard<std::mutex> lock(st->m);
  st->metrics = std::move(metrics);
  st->model_in = std::move(model_in);
  st->notes = std::move(notes);
  st->searches = std::move(searches);
  st->preset = preset;
  st->error = error;
  st->done = true;
}

std::string count(double v) {
  return v >= 1e6   ? fmt::format("{:.2f}M", v / 1e6)
         : v >= 1e3 ? fmt::format("{:.1f}k", v / 1e3)
                    : fmt::format("{:.0f}", v);
}

}  // namespace

Previews::~Previews() { wait(); }

void Previews::wait() {
  if (!state_) return;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(state_->m);
      if (state_->done) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string Previews::of(const Document& d, int stage, const std::string* text) {
  if (!enabled) return "";
  const std::string& wanted = text ? *text : d.text;
  std::shared_ptr<State> st = state_;
  bool same = false, done = false;
  if (st) {
    std::lock_guard<std::mutex> lock(st->m);
    same = st->uri == d.uri && st->version == d.version && st->text == wanted;
    done = st->done;
  }
  if (!same) {
    if (st && !done) return "\n---\n*model preview: computing (for an earlier version)…*\n";  // one at a time
    st = std::make_shared<State>();
    st->uri = d.uri;
    st->version = d.version;
    st->text = wanted;
    state_ = st;
    std::thread(compute, st, d.path, wanted).detach();
    return "\n---\n*model preview: computing… hover again in a moment*\n";
  }
  std::lock_guard<std::mutex> lock(st->m);
  if (!st->done) return "\n---\n*model preview: computing…*\n";
  if (auto sr = st->searches.find(stage); sr != st->searches.end()) return sr->second;
  auto it = st->metrics.find(stage);
  if (auto n = st->notes.find(stage); it == st->metrics.end() && n != st->notes.end())
    return "\n---\n*model preview: " + n->second + "*\n";
  if (it == st->metrics.end())
    return st->error.empty() ? "" : "\n---\n*model preview: not available: " + st->error + "*\n";
  const auto& after = it->second;
  const std::map<std::string, double>* before = nullptr;
  if (auto m = st->model_in.find(stage); m != st->model_in.end())
    if (auto b = st->metrics.find(m->second); b != st->metrics.end()) before = &b->second;
  const std::string score = runtime::score_key(st->preset);
  auto row = [&](const char* label, const std::string& key, auto show) {
    if (!after.count(key)) return std::string();
    if (before && before->count(key) && before->at(key) != after.at(key))
      return fmt::format("| {} | {} | {} |\n", label, show(before->at(key)), show(after.at(key)));
    return fmt::format("| {} | {} | {} |\n", label, before && before->count(key) ? show(before->at(key)) : "",
                       show(after.at(key)));
  };
  std::string out =
      "\n---\nthe model (as `whittle plan` previews it, from the recipe alone):\n\n| | before | after "
      "|\n|---|---|---|\n";
  out += row("parameters", "params", count);
  out += row("non-zero", "nonzero", count);
  out += row("MACs", "macs", count);
  out += row("bits", "bits", [](double v) { return fmt::format("{:.4g}", v); });
  out += row(st->preset.c_str(), score, [](double v) { return fmt::format("{:.5g}", v); });
  if (st->preset == "course2025")
    if (const std::string note = runtime::float_activations_note(after); !note.empty())
      out += fmt::format("\n**note**: {}; {}\n", note, lang::lint::float_activations_help());
  return out;
}

}  // namespace whittle::lsp
