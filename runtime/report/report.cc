#include "runtime/report/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "lang/graph.h"
#include "runtime/plan/metrics.h"
#include "runtime/report/report_plots.h"
#include "runtime/system/atomic_file.h"
#include "runtime/system/shell.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

/// What every table shows, then what it shows when some stage measured it.
const std::vector<std::string> kOptional = {"precision", "recall", "f1", "sparse_mib", "latency_ms"};

std::vector<std::string> columns(std::vector<std::string> cols, const std::vector<const StageRecord*>& stages) {
  // Once a prune has run, the zero share of all parameters beside the prunable weights' sparsity.
  bool pruned = false;
  for (const StageRecord* s : stages)
    pruned = pruned || (measured(s->metrics, "sparsity_all") && s->metrics.at("sparsity_all") > 0);
  if (auto at = std::find(cols.begin(), cols.end(), "sparsity"); pruned && at != cols.end())
    cols.insert(at + 1, "sparsity_all");
  for (const auto& key : kOptional) {
    bool any = false;
    for (const StageRecord* s : stages) any = any || measured(s->metrics, key);
    if (any) cols.push_back(key);
  }
  return cols;
}

/// The metric columns of the run table.
std::vector<std::string> run_columns(const RunRecord& r, const std::string& preset) {
  std::vector<const StageRecord*> stages;
  for (const auto& s : r.stages) stages.push_back(&s);
  return columns({"accuracy", "params", "nonzero", "sparsity", "macs", "bits", score_key(preset)}, stages);
}

/// A column is as wide as its heading, and at least 7 characters (10 for counts, 10 for a score: 0.0010158).
std::size_t width(const std::string& key) {
  const std::string head = metric_def(key).header;
  const std::size_t least = key == "params" || key == "nonzero" || key.rfind("score", 0) == 0 ? 10
                            : key == "latency_ms"                                             ? 14
                                                                                              : 7;
  return std::max(least, head.size());
}

std::string cell(const Metrics& m, const std::string& key) {
  std::string v = format_metric(m, key);
  if (key == "latency_ms" && v != "-" && measured(m, "latency_batch"))
    v += fmt::format(" /{:.0f}", m.at("latency_batch"));
  return v;
}

}  // namespace

std::string run_table(const Plan& p, const RunRecord& r, const ArtifactStore& store) {
  const auto cols = run_columns(r, p.score_preset);
  const std::size_t w = stage_name_width(p, 35);
  // Where an accuracy was measured (split, and how many of its images), beside it.
  std::size_t on = 0;
  for (const auto& s : r.stages)
    if (measured(s.metrics, "accuracy")) on = std::max(on, measured_on(s).size());
  if (on > 0) on = std::max<std::size_t>(on, 11);
  std::string out = fmt::format("{:<{}} {:<7} {:>8}", "stage", w, "status", "seconds");
  for (const auto& c : cols) {
    out += fmt::format(" {:>{}}", metric_def(c).header, width(c));
    if (c == "accuracy" && on) out += fmt::format(" {:<{}}", "measured on", on);
  }
  out += "\n";
  for (const auto& s : r.stages) {
    out += fmt::format("{:<{}} {:<7} {:>8.1f}", stage_name(p, s.id), w, s.status, s.seconds);
    for (const auto& c : cols) {
      out += fmt::format(" {:>{}}", cell(s.metrics, c), width(c));
      if (c == "accuracy" && on)
        out += fmt::format(" {:<{}}", measured(s.metrics, "accuracy") ? measured_on(s) : "", on);
    }
    out += "\n";
  }
  out += score_note(p.score_preset, p.score_preset_source) + "\n";
  // What `convert`'s int8 kernels cost, beside the float model's accuracy.
  for (const auto& s : r.stages) {
    if (s.kind != "convert" || !recorded(s.metrics, "int8_accuracy") || !recorded(s.metrics, "float_accuracy"))
      continue;
    const double lost = 100 * (s.metrics.at("float_accuracy") - s.metrics.at("int8_accuracy"));
    out += fmt::format(
        "{}{}: {:.2f}% with int8 kernels where the float model had {:.2f}% ({}){}\n", lost >= 1 ? "warning: " : "",
        stage_name(p, s.id), 100 * s.metrics.at("int8_accuracy"), 100 * s.metrics.at("float_accuracy"), measured_on(s),
        lost >= 1
            ? fmt::format(": {:.2f} points lost to the int8 kernels, which are what a deployment of it computes", lost)
            : "");
  }
  // Every `score` stage's full report (each component and how the formula's open points were
  // settled) and every sensitivity scan's table.
  for (const auto& s : r.stages) {
    if (!p.stage(s.id).is(lang::StageDef::Role::Table) || (s.status != "ran" && s.status != "cached")) continue;
    std::ifstream in(fs::path(store.entry_dir(s.key)) / (s.kind + ".txt"));
    if (!in) continue;
    out += fmt::format("\n{}:\n", stage_name(p, s.id));
    out += std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

namespace {

/// The results table: every stage that measured accuracy, with the model it measured.
std::string write_tables(const std::vector<Run>& runs, const fs::path& dir, const std::string& preset,
                         const std::string& note) {
  std::vector<const StageRecord*> measured_stages;
  for (const auto& r : runs)
    for (const auto& s : r.record.stages)
      if (measured(s.metrics, "accuracy")) measured_stages.push_back(&s);
  const std::vector<std::string> shown = columns(
      {"accuracy", "params", "nonzero", "sparsity", "macs", "bits", score_key(preset), "packed_mib"}, measured_stages);
  // The CSV has every preset's score, the tables' first.
  std::vector<std::string> csv_cols = {"accuracy", "precision", "recall", "f1",   "params",
                                       "nonzero",  "sparsity",  "macs",   "bits", score_key(preset)};
  for (const auto& other : score_presets())
    if (other != preset) csv_cols.push_back(score_key(other));
  csv_cols.insert(csv_cols.begin() + 7, "sparsity_all");
  for (const char* c : {"size_mib", "packed_mib", "sparse_mib", "latency_ms", "latency_batch"}) csv_cols.push_back(c);
  std::string markdown = "| recipe | stage | measured on |", rule = "|---|---|---|";
  for (const auto& c : shown) markdown += fmt::format(" {} |", metric_def(c).header), rule += "---:|";
  markdown += "\n" + rule + "\n";
  std::string csv = "recipe,stage,kind,where,split,images,split_images";
  for (const auto& c : csv_cols) csv += "," + c;
  csv += "\n";
  for (const auto& r : runs)
    for (const auto& s : r.record.stages) {
      if (!measured(s.metrics, "accuracy")) continue;
      markdown += fmt::format("| {} | {} | {} |", r.record.recipe, report_label(r, s), measured_on(s));
      for (const auto& c : shown) markdown += fmt::format(" {} |", format_metric(s.metrics, c));
      markdown += "\n";
      std::string where = s.where;
      for (char& ch : where) ch = ch == ',' ? ';' : ch;
      auto tally = [&](const char* k) {
        return recorded(s.metrics, k) ? fmt::format("{}", s.metrics.at(k)) : std::string();
      };
      csv += fmt::format("{},{},{},{},{},{},{}", r.record.recipe, s.id, s.kind, where, measured_split(s),
                         tally("images"), tally("split_images"));
      for (const auto& c : csv_cols) csv += "," + raw_metric(s.metrics, c);
      csv += "\n";
    }
  markdown += "\n" + note + "\n";
  write_file_atomic((dir / "results.md").string(), markdown);
  write_file_atomic((dir / "results.csv").string(), csv);
  return markdown;
}

}  // namespace

ReportOutcome write_report(const std::vector<Run>& runs, const fs::path& dir, const std::string& model) {
  ReportOutcome o;
  std::string note;
  const std::string preset = report_preset(runs, &note);
  o.markdown = write_tables(runs, dir, preset, note);
  std::vector<Plot> plots;
  if (auto p = accuracy_vs_score_plot(runs, preset)) plots.push_back(*p);
  for (auto& p : sweep_plots(runs, preset)) plots.push_back(p);
  for (auto& p : search_plots(runs)) plots.push_back(p);
  if (auto p = training_plot(runs)) plots.push_back(*p);
  for (auto& p : sparsity_plots(runs, dir, model)) plots.push_back(p);
  for (auto& p : weight_histogram_plots(runs, model)) plots.push_back(p);
  for (auto& p : sensitivity_plots(runs)) plots.push_back(p);
  if (std::system("gnuplot --version > /dev/null 2>&1") != 0) {
    o.problem = fmt::format(
        "gnuplot is not installed, so no plots were drawn (the tables are in {}); install it (Debian: "
        "apt-get install gnuplot-nox) and run again",
        dir.string());
    return o;
  }
  for (const auto& p : plots) {
    const fs::path script = dir / (p.name + ".gp");
    write_file_atomic(script.string(), p.script(dir));
    const fs::path log = dir / (p.name + ".log");
    const int rc =
        std::system(("gnuplot " + shell_quote(script.string()) + " 2> " + shell_quote(log.string())).c_str());
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) o.warnings.push_back(p.name + ".gp: " + line);
    in.close();
    std::error_code ec;
    fs::remove(log, ec);
    if (rc != 0)
      o.problem += (o.problem.empty() ? "gnuplot failed on " : ", ") + script.string();
    else
      o.drawn.push_back(p.name);
  }
  return o;
}

}  // namespace whittle::runtime
