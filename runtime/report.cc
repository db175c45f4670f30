#include "runtime/report.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "runtime/atomic_file.h"
#include "runtime/metrics.h"
#include "runtime/report_plots.h"
#include "runtime/shell.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

bool Run::same(const StageRecord& s) const {
  for (const auto& step : plan->steps)
    if (step.stage == s.id) return step.key == s.key;
  return false;
}

std::string report_label(const Run& r, const StageRecord& s) {
  std::string n = r.same(s) ? stage_name(*r.plan, s.id) : fmt::format("#{} {}", s.id, s.kind);
  if (r.same(s) && !r.plan->stage(s.id).produces_model() && r.plan->stage(s.id).model_in >= 0)
    n = fmt::format("#{} {} of {}", s.id, s.kind, stage_name(*r.plan, r.plan->stage(s.id).model_in));
  if (!r.same(s) && !s.where.empty()) n += " [" + s.where + "]";  // stage_name() has it
  return n;
}

namespace {

/// What every table shows, then what it shows when some stage measured it.
const std::vector<std::string> kOptional = {"precision", "recall", "f1", "sparse_mib", "latency_ms"};

std::vector<std::string> columns(std::vector<std::string> cols, const std::vector<const StageRecord*>& stages) {
  for (const auto& key : kOptional) {
    bool any = false;
    for (const StageRecord* s : stages) any = any || measured(s->metrics, key);
    if (any) cols.push_back(key);
  }
  return cols;
}

/// The metric columns of the run table.
std::vector<std::string> run_columns(const RunRecord& r) {
  std::vector<const StageRecord*> stages;
  for (const auto& s : r.stages) stages.push_back(&s);
  return columns({"accuracy", "params", "nonzero", "sparsity", "macs", "bits", "score"}, stages);
}

/// A column is as wide as its heading, and at least 7 characters (10 for counts, 9 for a score: 0.0010158).
std::size_t width(const std::string& key) {
  const std::string head = metric_def(key).header;
  const std::size_t least = key == "params" || key == "nonzero" ? 10 : key == "latency_ms" ? 14 : key == "score" ? 9 : 7;
  return std::max(least, head.size());
}

std::string cell(const Metrics& m, const std::string& key) {
  std::string v = format_metric(m, key);
  if (key == "latency_ms" && v != "-" && measured(m, "latency_batch")) v += fmt::format(" /{:.0f}", m.at("latency_batch"));
  return v;
}

}  // namespace

std::string run_table(const Plan& p, const RunRecord& r, const ArtifactStore& store) {
  const auto cols = run_columns(r);
  const std::size_t w = stage_name_width(p, 35);
  std::string out = fmt::format("{:<{}} {:<7} {:>8}", "stage", w, "status", "seconds");
  for (const auto& c : cols) out += fmt::format(" {:>{}}", metric_def(c).header, width(c));
  out += "\n";
  for (const auto& s : r.stages) {
    out += fmt::format("{:<{}} {:<7} {:>8.1f}", stage_name(p, s.id), w, s.status, s.seconds);
    for (const auto& c : cols) out += fmt::format(" {:>{}}", cell(s.metrics, c), width(c));
    out += "\n";
  }
  out += "score column: course2025 of the model at that point (bits per layer from its quantizers; `whittle doc score`)\n";
  // Every `score` stage's full report (each component and how the formula's open points were
  // settled) and every sensitivity scan's table.
  for (const auto& s : r.stages) {
    if ((s.kind != "score" && s.kind != "sensitivity") || (s.status != "ran" && s.status != "cached")) continue;
    std::ifstream in(fs::path(store.entry_dir(s.key)) / (s.kind + ".txt"));
    if (!in) continue;
    out += fmt::format("\n{}:\n", stage_name(p, s.id));
    out += std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

namespace {

/// The results table: every stage that measured accuracy, with the model it measured.
std::string write_tables(const std::vector<Run>& runs, const fs::path& dir) {
  std::vector<const StageRecord*> measured_stages;
  for (const auto& r : runs)
    for (const auto& s : r.record.stages)
      if (measured(s.metrics, "accuracy")) measured_stages.push_back(&s);
  const std::vector<std::string> shown =
      columns({"accuracy", "params", "nonzero", "sparsity", "macs", "bits", "score", "packed_mib"}, measured_stages);
  const std::vector<std::string> csv_cols = {"accuracy", "precision", "recall",     "f1",         "params",     "nonzero",    "sparsity",
                                             "macs",     "bits",      "score",      "size_mib",   "packed_mib", "sparse_mib", "latency_ms",
                                             "latency_batch"};
  std::string markdown = "| recipe | stage |", rule = "|---|---|";
  for (const auto& c : shown) markdown += fmt::format(" {} |", metric_def(c).header), rule += "---:|";
  markdown += "\n" + rule + "\n";
  std::string csv = "recipe,stage,kind,where";
  for (const auto& c : csv_cols) csv += "," + c;
  csv += "\n";
  for (const auto& r : runs)
    for (const auto& s : r.record.stages) {
      if (!measured(s.metrics, "accuracy")) continue;
      markdown += fmt::format("| {} | {} |", r.record.recipe, report_label(r, s));
      for (const auto& c : shown) markdown += fmt::format(" {} |", format_metric(s.metrics, c));
      markdown += "\n";
      std::string where = s.where;
      for (char& ch : where) ch = ch == ',' ? ';' : ch;
      csv += fmt::format("{},{},{},{}", r.record.recipe, s.id, s.kind, where);
      for (const auto& c : csv_cols) csv += "," + raw_metric(s.metrics, c);
      csv += "\n";
    }
  write_file_atomic((dir / "results.md").string(), markdown);
  write_file_atomic((dir / "results.csv").string(), csv);
  return markdown;
}

}  // namespace

ReportOutcome write_report(const std::vector<Run>& runs, const fs::path& dir) {
  ReportOutcome o;
  o.markdown = write_tables(runs, dir);
  std::vector<Plot> plots;
  if (auto p = accuracy_vs_score_plot(runs)) plots.push_back(*p);
  if (auto p = training_plot(runs)) plots.push_back(*p);
  for (auto& p : sparsity_plots(runs, dir)) plots.push_back(p);
  for (auto& p : sensitivity_plots(runs)) plots.push_back(p);
  if (std::system("gnuplot --version > /dev/null 2>&1") != 0) {
    o.problem = fmt::format("gnuplot is not installed, so no plots were drawn (the tables are in {}); install it (Debian: "
                            "apt-get install gnuplot-nox) and run again", dir.string());
    return o;
  }
  for (const auto& p : plots) {
    const fs::path script = dir / (p.name + ".gp");
    write_file_atomic(script.string(), p.script(dir));
    if (std::system(("gnuplot " + shell_quote(script.string())).c_str()) != 0)
      o.problem += (o.problem.empty() ? "gnuplot failed on " : ", ") + script.string();
    else
      o.drawn.push_back(p.name);
  }
  return o;
}

}  // namespace whittle::runtime
