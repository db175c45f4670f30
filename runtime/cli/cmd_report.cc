// `whittle report RECIPE|RUN...`: the results of recipes' last runs as a table (markdown and CSV)
// and as plots drawn by gnuplot (PNG and SVG): accuracy against score, loss and accuracy per epoch,
// sparsity per layer, sensitivity curves. The gnuplot scripts are kept beside the plots, data inline,
// so that a plot can be restyled and redrawn without whittle.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>

#include "runtime/cli/commands.h"
#include "runtime/cli/common.h"
#include "runtime/cli/recipes.h"
#include "runtime/cli/report.h"
#include "runtime/record.h"
#include "runtime/shell.h"
#include "runtime/torch_api.h"

namespace whittle::cli {
namespace fs = std::filesystem;

bool Run::same(const runtime::StageRecord& s) const {
  for (const auto& step : plan->steps)
    if (step.stage == s.id) return step.key == s.key;
  return false;
}

std::optional<Run> load_run(const std::string& arg, const std::vector<std::string>& sets, const std::string& cache) {
  RecipeOptions o{arg, sets, cache, ""};
  if (fs::path(arg).extension() == ".yaml") {  // a run record: runs/<recipe>.yaml in a cache
    auto rec = runtime::read_record(arg);
    if (!rec) {
      std::fprintf(stderr, "error: %s is not a run record of whittle\n", arg.c_str());
      return std::nullopt;
    }
    o.file = rec->file;
    if (o.cache.empty()) o.cache = fs::absolute(arg).parent_path().parent_path().string();
    if (!fs::exists(o.file)) {
      std::fprintf(stderr, "error: the run record %s is of %s, which is not there any more\n", arg.c_str(), o.file.c_str());
      return std::nullopt;
    }
  }
  Run r;
  r.plan = load_plan(o, r.store);
  if (!r.plan) return std::nullopt;
  auto rec = runtime::read_record(r.plan->record_path);
  if (!rec) {
    std::fprintf(stderr, "error: no run of %s in the cache (looked for %s)\n  help: run it first: whittle run %s\n", o.file.c_str(),
                 r.plan->record_path.c_str(), o.file.c_str());
    return std::nullopt;
  }
  r.record = *rec;
  return r;
}

namespace {


/// A stage as the table and the plots name it: a measuring stage (evaluate, score) by the stage
/// whose model it measured.
std::string stage_label(const Run& r, const runtime::StageRecord& s) {
  std::string n = r.same(s) ? stage_name(*r.plan, s.id) : fmt::format("#{} {}", s.id, s.kind);
  if (r.same(s) && !r.plan->stage(s.id).produces_model() && r.plan->stage(s.id).model_in >= 0)
    n = fmt::format("#{} {} of {}", s.id, s.kind, stage_name(*r.plan, r.plan->stage(s.id).model_in));
  if (!s.where.empty()) n += " [" + s.where + "]";
  return n;
}

std::string num(const std::map<std::string, double>& m, const char* name) {
  auto it = m.find(name);
  return it == m.end() ? "" : fmt::format("{}", it->second);
}

/// The results table: every stage that measured accuracy, with the model it measured.
void write_tables(const std::vector<Run>& runs, const fs::path& dir, std::string& markdown) {
  markdown = "| recipe | stage | accuracy | F1 | params | non-zero | sparsity | MACs | bits | score | packed MiB | latency |\n"
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  std::string csv = "recipe,stage,kind,where,accuracy,f1,params,nonzero,sparsity,macs,bits,score,size_mib,packed_mib,latency_ms,latency_batch\n";
  for (const auto& r : runs)
    for (const auto& s : r.record.stages) {
      if (!s.metrics.count("accuracy")) continue;
      const auto& m = s.metrics;
      markdown += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", r.record.recipe, stage_label(r, s),
                              metric(m, "accuracy", "{:.2f}%", 100), metric(m, "f1", "{:.4f}"), metric(m, "params", "{:.0f}"),
                              metric(m, "nonzero", "{:.0f}"), metric(m, "sparsity", "{:.1f}%", 100), macs(m), metric(m, "bits", "{:.0f}"),
                              metric(m, "score", "{:.5g}"), metric(m, "packed_mib", "{:.3f}"), metric(m, "latency_ms", "{:.2f} ms"));
      std::string where = s.where;
      for (char& c : where) c = c == ',' ? ';' : c;
      csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", r.record.recipe, s.id, s.kind, where, num(m, "accuracy"),
                         num(m, "f1"), num(m, "params"), num(m, "nonzero"), num(m, "sparsity"), num(m, "macs"), num(m, "bits"),
                         num(m, "score"), num(m, "size_mib"), num(m, "packed_mib"), num(m, "latency_ms"), num(m, "latency_batch"));
    }
  write_file_atomic((dir / "results.md").string(), markdown);
  write_file_atomic((dir / "results.csv").string(), csv);
}

/// A gnuplot string literal.
std::string quoted(std::string s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}
/// A label inside an inline data block (no double quotes, no line breaks).
std::string data_label(std::string s) {
  for (char& c : s) c = (c == '"' || c == '\n') ? '\'' : c;
  return "\"" + s + "\"";
}

/// A plot: inline data blocks and a `plot` command, drawn as NAME.png and NAME.svg.
struct Plot {
  std::string name, settings, data, plot;
  int width = 900, height = 600;
  std::string script(const fs::path& dir) const {
    const std::string base = (dir / name).string();
    return fmt::format("# whittle report: {0}; redraw with `gnuplot {0}.gp`\n{1}\nset encoding utf8\nset grid\n{2}\n"
                       "set terminal pngcairo size {3},{4} noenhanced font ',10'\nset output {5}\n{6}\n"
                       "set terminal svg size {3},{4} noenhanced font 'sans,10' background rgb 'white'\nset output {7}\n{6}\nunset output\n",
                       name, data, settings, width, height, quoted(base + ".png"), plot, quoted(base + ".svg"));
  }
};

/// Accuracy against score for every measured model of every run, with the 90% line.
std::optional<Plot> accuracy_vs_score(const std::vector<Run>& runs) {
  Plot p{"accuracy_vs_score",
         "set xlabel 'score (course2025, lower is better)'\nset ylabel 'accuracy (%)'\nset key outside right\nset xrange [0:*]\n"
         "set offsets graph 0.05, graph 0.05, 1, 1",
         "", ""};
  std::vector<std::string> series;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    std::string block;
    int points = 0;
    for (const auto& s : runs[i].record.stages)
      if (s.metrics.count("accuracy") && s.metrics.count("score"))
        block += fmt::format("{} {} {}\n", s.metrics.at("score"), 100 * s.metrics.at("accuracy"), data_label(fmt::format("#{}", s.id))), ++points;
    if (block.empty()) continue;
    p.data += fmt::format("$run{} << EOD\n{}EOD\n", i, block);
    // Stage labels while they stay readable; a long sweep is a curve (results.md names every point).
    series.push_back(fmt::format("$run{0} using 1:2 with points pt 7 ps 1.2 title {1}", i, quoted(runs[i].record.recipe)));
    if (points <= 12) series.back() += fmt::format(", $run{} using 1:2:3 with labels offset 1,0.6 notitle", i);
  }
  if (series.empty()) return std::nullopt;
  p.plot = "plot 90 with lines dt 2 lw 2 lc rgb 'red' title '90%'";
  for (const auto& s : series) p.plot += ", " + s;
  return p;
}

/// Training loss and accuracy per epoch, each train or retrain placed after the epochs of the
/// stages its model went through (a sweep's branches share their trunk).
std::optional<Plot> training(const std::vector<Run>& runs) {
  static const std::regex line(R"(^epoch (\d+)/\d+: loss ([0-9.eE+-]+|nan|inf), accuracy ([0-9.eE+-]+))");
  Plot p{"training", "set key below\nset offsets graph 0.02, graph 0.02, 0, 0", "", ""};
  std::string loss, acc;
  int n = 0;
  for (const auto& r : runs)
    for (const auto& s : r.record.stages) {
      if ((s.kind != "train" && s.kind != "retrain") || !r.same(s)) continue;
      std::ifstream in(fs::path(r.store->entry_dir(s.key)) / "log.txt");
      double offset = 0;  // the epochs of the train/retrain stages before this one on its chain
      for (int cur = r.plan->stage(s.id).model_in; cur >= 0; cur = r.plan->stage(cur).model_in) {
        const lang::StageInstance& up = r.plan->stage(cur);
        if (up.kind == "train" || up.kind == "retrain") offset += up.value("epochs")->num;
      }
      std::string block, text;
      std::smatch m;
      while (std::getline(in, text))
        if (std::regex_search(text, m, line))
          block += fmt::format("{} {} {}\n", offset + std::stod(m[1]), m[2].str(), 100 * std::stod(m[3]));
      if (block.empty()) continue;
      p.data += fmt::format("$s{} << EOD\n{}EOD\n", n, block);
      const std::string title = quoted(r.record.recipe + " " + stage_label(r, s));
      loss += fmt::format("{}$s{} using 1:2 with linespoints pt 7 ps 0.5 title {}", n ? ", " : "", n, title);
      acc += fmt::format("{}$s{} using 1:3 with linespoints pt 7 ps 0.5 title {}", n ? ", " : "", n, title);
      ++n;
    }
  if (n == 0) return std::nullopt;
  p.height = 800;
  p.plot = "set multiplot layout 2,1\nset ylabel 'training loss'\nset xlabel ''\nplot " + loss + "\nset ylabel 'training accuracy (%)'\nset xlabel 'epoch'\nplot " +
           acc + "\nunset multiplot";
  return p;
}

/// Sparsity per layer of each run's last model (also written as CSV).
std::vector<Plot> sparsity(const std::vector<Run>& runs, const fs::path& dir) {
  std::vector<Plot> out;
  for (const auto& r : runs) {
    const runtime::StageRecord* last = nullptr;
    for (const auto& s : r.record.stages)
      if ((s.status == "ran" || s.status == "cached") && r.same(s) && r.plan->stage(s.id).produces_model()) last = &s;
    if (!last) continue;
    std::string csv = "layer,weights,nonzero,sparsity,weight_bits,activation_bits,macs\n", block;
    for (const auto& l : runtime::torch_api().stage_layers(*r.plan, last->id, r.store->entry_dir(last->key))) {
      const double sp = l.weights ? 1 - static_cast<double>(l.nonzero) / static_cast<double>(l.weights) : 0;
      csv += fmt::format("{},{},{},{},{},{},{}\n", l.name, l.weights, l.nonzero, sp, l.weight_bits, l.activation_bits, l.macs);
      block += fmt::format("{} {}\n", data_label(l.name), 100 * sp);
    }
    const std::string name = "sparsity_" + r.record.recipe;
    write_file_atomic((dir / (name + ".csv")).string(), csv);
    Plot p{name,
           fmt::format("set title {}\nset ylabel 'zero weights (%)'\nset yrange [0:100]\nset style fill solid 0.7\nset boxwidth 0.8\n"
                       "set xtics rotate by -60 font ',8'\nset bmargin 10\nunset key",
                       quoted(fmt::format("{}: sparsity per layer of {}", r.record.recipe, stage_label(r, *last)))),
           "$layers << EOD\n" + block + "EOD\n", "plot $layers using 0:2:xtic(1) with boxes"};
    p.width = 1100;
    out.push_back(p);
  }
  return out;
}

/// Accuracy against the amount pruned, one curve per layer, for every sensitivity scan.
std::vector<Plot> sensitivity(const std::vector<Run>& runs) {
  std::vector<Plot> out;
  for (const auto& r : runs)
    for (const auto& s : r.record.stages) {
      if (s.kind != "sensitivity") continue;
      std::ifstream in(fs::path(r.store->entry_dir(s.key)) / "sensitivity.csv");
      std::string text, current, data, plot;
      std::getline(in, text);  // header: layer,units,amount,accuracy,drop,pick
      int n = 0;
      while (std::getline(in, text)) {
        std::stringstream row(text);
        std::string layer, units, amount, accuracy;
        std::getline(row, layer, ',');
        std::getline(row, units, ',');
        std::getline(row, amount, ',');
        std::getline(row, accuracy, ',');
        std::string drop;
        std::getline(row, drop, ',');
        if (layer != current) {
          if (n) data += "EOD\n";
          // The unpruned accuracy first: every curve starts there.
          data += fmt::format("$l{} << EOD\n0 {}\n", n, 100 * (std::stod(accuracy) + std::stod(drop)));
          plot += fmt::format("{}$l{} using 1:2 with linespoints pt 7 ps 0.6 title {}", n ? ", " : "", n, quoted(layer));
          current = layer;
          ++n;
        }
        data += fmt::format("{} {}\n", 100 * std::stod(amount), 100 * std::stod(accuracy));
      }
      if (!n) continue;
      data += "EOD\n";
      Plot p{fmt::format("sensitivity_{}_{}", r.record.recipe, s.id),
             fmt::format("set title {}\nset xlabel 'share of the layer pruned (%)'\nset ylabel 'accuracy (%)'\nset key outside right",
                         quoted(fmt::format("{}: {}", r.record.recipe, stage_label(r, s)))),
             data, "plot " + plot};
      out.push_back(p);
    }
  return out;
}

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

ReportOutcome write_report(const std::vector<Run>& runs, const fs::path& dir) {
  ReportOutcome o;
  write_tables(runs, dir, o.markdown);
  std::vector<Plot> plots;
  if (auto p = accuracy_vs_score(runs)) plots.push_back(*p);
  if (auto p = training(runs)) plots.push_back(*p);
  for (auto& p : sparsity(runs, dir)) plots.push_back(p);
  for (auto& p : sensitivity(runs)) plots.push_back(p);
  if (std::system("gnuplot --version > /dev/null 2>&1") != 0) {
    o.problem = fmt::format("gnuplot is not installed, so no plots were drawn (the tables are in {}); install it (Debian: "
                            "apt-get install gnuplot-nox) and run again", dir.string());
    return o;
  }
  for (const auto& p : plots) {
    const fs::path script = dir / (p.name + ".gp");
    write_file_atomic(script.string(), p.script(dir));
    if (std::system(("gnuplot " + runtime::shell_quote(script.string())).c_str()) != 0)
      o.problem += (o.problem.empty() ? "gnuplot failed on " : ", ") + script.string();
    else
      o.drawn.push_back(p.name);
  }
  return o;
}

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
