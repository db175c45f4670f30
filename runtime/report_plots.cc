#include "runtime/report_plots.h"

#include <fmt/format.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "runtime/atomic_file.h"
#include "runtime/metrics.h"
#include "runtime/torch_api.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

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

}  // namespace

std::string Plot::script(const fs::path& dir) const {
  const std::string base = (dir / name).string();
  return fmt::format("# whittle report: {0}; redraw with `gnuplot {0}.gp`\n{1}\nset encoding utf8\nset grid\n{2}\n"
                     "set terminal pngcairo size {3},{4} noenhanced font ',10'\nset output {5}\n{6}\n"
                     "set terminal svg size {3},{4} noenhanced font 'sans,10' background rgb 'white'\nset output {7}\n{6}\nunset output\n",
                     name, data, settings, width, height, quoted(base + ".png"), plot, quoted(base + ".svg"));
}

/// Accuracy against score for every measured model of every run, with the 90% line.
std::optional<Plot> accuracy_vs_score_plot(const std::vector<Run>& runs) {
  Plot p{"accuracy_vs_score",
         "set xlabel 'score (course2025, lower is better)'\nset ylabel 'accuracy (%)'\nset key outside right\nset xrange [0:*]\n"
         "set offsets graph 0.05, graph 0.05, 1, 1",
         "", ""};
  std::vector<std::string> series;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    std::string block;
    int points = 0;
    for (const auto& s : runs[i].record.stages)
      if (measured(s.metrics, "accuracy") && measured(s.metrics, "score"))
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
std::optional<Plot> training_plot(const std::vector<Run>& runs) {
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
      const std::string title = quoted(r.record.recipe + " " + report_label(r, s));
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
std::vector<Plot> sparsity_plots(const std::vector<Run>& runs, const fs::path& dir) {
  std::vector<Plot> out;
  for (const auto& r : runs) {
    const StageRecord* last = nullptr;
    for (const auto& s : r.record.stages)
      if ((s.status == "ran" || s.status == "cached") && r.same(s) && r.plan->stage(s.id).produces_model()) last = &s;
    if (!last) continue;
    std::string csv = "layer,weights,nonzero,sparsity,weight_bits,activation_bits,macs\n", block;
    for (const auto& l : torch_api().stage_layers(*r.plan, last->id, r.store->entry_dir(last->key))) {
      const double sp = l.weights ? 1 - static_cast<double>(l.nonzero) / static_cast<double>(l.weights) : 0;
      csv += fmt::format("{},{},{},{},{},{},{}\n", l.name, l.weights, l.nonzero, sp, l.weight_bits, l.activation_bits, l.macs);
      block += fmt::format("{} {}\n", data_label(l.name), 100 * sp);
    }
    const std::string name = "sparsity_" + r.record.recipe;
    write_file_atomic((dir / (name + ".csv")).string(), csv);
    Plot p{name,
           fmt::format("set title {}\nset ylabel 'zero weights (%)'\nset yrange [0:100]\nset style fill solid 0.7\nset boxwidth 0.8\n"
                       "set xtics rotate by -60 font ',8'\nset bmargin 10\nunset key",
                       quoted(fmt::format("{}: sparsity per layer of {}", r.record.recipe, report_label(r, *last)))),
           "$layers << EOD\n" + block + "EOD\n", "plot $layers using 0:2:xtic(1) with boxes"};
    p.width = 1100;
    out.push_back(p);
  }
  return out;
}

/// Accuracy against the amount pruned, one curve per layer, for every sensitivity scan.
std::vector<Plot> sensitivity_plots(const std::vector<Run>& runs) {
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
                         quoted(fmt::format("{}: {}", r.record.recipe, report_label(r, s)))),
             data, "plot " + plot};
      out.push_back(p);
    }
  return out;
}

}  // namespace whittle::runtime
