// The plots of how models were made: training curves along each chain, and sensitivity scans.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "lang/graph.h"
#include "runtime/plan/params.h"
#include "runtime/report/report_plots.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

/// One train or retrain stage's epochs, placed on its chain's epoch axis.
struct Curve {
  std::string title;
  bool distilled = false;
  std::string train, held_out;  ///< data blocks: "epoch loss accuracy(%)"
};

struct Range {
  double lo = 1e300, hi = -1e300;
  void add(double v) { lo = std::min(lo, v), hi = std::max(hi, v); }
  bool empty() const { return hi < lo; }
  /// gnuplot's range, padded and never empty (one epoch is one point).
  std::string text(double least) const {
    const double pad = std::max(least, 0.06 * (hi - lo));
    return fmt::format("[{}:{}]", lo - pad, hi + pad);
  }
};

}  // namespace

std::optional<Plot> training_plot(const std::vector<Run>& runs) {
  static const std::regex epoch_line(R"(^epoch (\d+)/\d+: loss ([0-9.eE+-]+), accuracy ([0-9.eE+-]+))");
  static const std::regex held_out(
      R"((validation|test) loss ([0-9.eE+-]+), (?:validation|test) accuracy ([0-9.eE+-]+))");
  std::vector<Curve> curves;
  std::map<std::pair<const Run*, int>, std::string>
      last_point;  // a stage's last epoch: where the next one on its chain starts
  Range epochs, loss, kd_loss, acc;
  std::string held_out_split;
  std::map<double, std::vector<std::string>> events;  // epoch on the chain → the prunes and quantizers there
  for (const auto& r : runs)
    for (const auto& s : r.record.stages) {
      if (!r.plan->stage(s.id).is(lang::StageDef::Role::Train) || !r.same(s)) continue;
      std::ifstream in(fs::path(r.store->entry_dir(s.key)) / "log.txt");
      double offset = 0;                 // the epochs of the train/retrain stages before this one on its chain
      int before = -1;                   // the nearest of them
      std::vector<std::string> between;  // what changed the model since the nearest train or retrain
      for (int cur = r.plan->stage(s.id).model_in; cur >= 0; cur = r.plan->stage(cur).model_in) {
        const lang::StageInstance& up = r.plan->stage(cur);
        if (before < 0 && up.is(lang::StageDef::Role::Compress)) {
          const std::string sum = lang::stage_summary(up);
          between.insert(between.begin(), up.kind + (sum.empty() ? "" : " " + sum));
        }
        if (!up.is(lang::StageDef::Role::Train)) continue;
        offset += Params(up).number("epochs");
        if (before < 0) before = cur;
      }
      if (before >= 0)
        for (const auto& e : between) {
          auto& at = events[offset];
          if (std::find(at.begin(), at.end(), e) == at.end()) at.push_back(e);
        }
      Curve c;
      const Params trained(r.plan->stage(s.id));
      c.distilled = trained.declares("distill") && !trained.is_none("distill");
      // Drawn from where the chain was: a one-epoch retrain is a line from its model's last epoch.
      if (auto it = last_point.find({&r, before}); it != last_point.end() && !c.distilled) c.train = it->second;
      c.title = (runs.size() > 1 ? r.record.recipe + ": " : "") + s.kind +
                (s.where.empty() ? "" : " " + branch_text(s.where)) +
                (r.plan->stage(s.id).as_name.empty() ? "" : " as " + r.plan->stage(s.id).as_name) +
                (c.distilled ? " (distilled)" : "");
      std::string text;
      std::smatch m;
      while (std::getline(in, text)) {
        if (!std::regex_search(text, m, epoch_line)) continue;
        const double e = offset + std::stod(m[1]), l = std::stod(m[2]), a = 100 * std::stod(m[3]);
        if (!std::isfinite(l)) continue;
        c.train += fmt::format("{} {} {}\n", e, l, a);
        last_point[{&r, s.id}] = fmt::format("{} {} {}\n", e, l, a);
        epochs.add(e), acc.add(a);
        (c.distilled ? kd_loss : loss).add(l);
        if (std::regex_search(text, m, held_out)) {
          const double vl = std::stod(m[2]), va = 100 * std::stod(m[3]);
          c.held_out += fmt::format("{} {} {}\n", e, vl, va);
          held_out_split = m[1];
          loss.add(vl), acc.add(va);
        }
      }
      if (last_point.count({&r, s.id})) curves.push_back(c);
    }
  if (curves.empty()) return std::nullopt;
  // Two panels over one epoch axis, one key under both: a line per stage; solid for the training
  // batches, dashed for the held-out split.
  Plot p{"training", "", "", ""};
  const int rows = static_cast<int>((curves.size() + 2) / 3) + (held_out_split.empty() ? 0 : 1);
  p.width = 1000;
  p.height = 760 + 18 * rows;
  const double key_h = 30.0 + 18.0 * rows;  // pixels under the lower panel
  const double h = p.height;
  auto margins = [&](double top, double bottom) {
    return fmt::format(
        "set lmargin at screen {:.4f}\nset rmargin at screen {:.4f}\nset tmargin at screen {:.4f}\nset bmargin at "
        "screen {:.4f}\n",
        80.0 / p.width, (p.width - 90.0) / p.width, 1 - top / h, 1 - bottom / h);
  };
  // Two panels, the top one's tics and a gap between them, and the x axis's tics and title under
  // the lower one, above the key.
  const double panel = (h - key_h - 50 - 60 - 50) / 2;
  std::string lplot, aplot;
  for (std::size_t i = 0; i < curves.size(); ++i) {
    const Curve& c = curves[i];
    p.data += fmt::format("$t{} << EOD\n{}EOD\n", i, c.train);
    const char* col = series_colour(i);
    lplot += fmt::format("{}$t{} using 1:2{} with linespoints pt 7 ps 0.5 lw 1.5 lc rgb '{}' notitle", i ? ", " : "", i,
                         c.distilled ? " axes x1y2" : "", col);
    aplot += fmt::format("{}$t{} using 1:3 with linespoints pt 7 ps 0.5 lw 1.5 lc rgb '{}' title {}", i ? ", " : "", i,
                         col, gp_quoted(c.title));
    if (!c.held_out.empty()) {
      p.data += fmt::format("$v{} << EOD\n{}EOD\n", i, c.held_out);
      lplot += fmt::format(", $v{} using 1:2 with linespoints pt 6 ps 0.6 dt 2 lw 1.5 lc rgb '{}' notitle", i, col);
      aplot += fmt::format(", $v{} using 1:3 with linespoints pt 6 ps 0.6 dt 2 lw 1.5 lc rgb '{}' notitle", i, col);
    }
  }
  if (!held_out_split.empty())
    aplot += fmt::format(
        ", NaN with lines lw 1.5 lc rgb '#555555' title 'solid: training batches', NaN with lines dt 2 lw 1.5 lc rgb "
        "'#555555' "
        "title {}",
        gp_quoted("dashed: " + held_out_split + " split"));
  // Where a prune or a quantizer changed the model: a dotted line across both panels, named in the top one.
  std::string marks, names;
  for (const auto& [e, what] : events) {
    std::string text;
    for (const auto& w : what) text += (text.empty() ? "" : " + ") + w;
    if (text.size() > 40) text = text.substr(0, 38) + "…";
    marks +=
        fmt::format("set arrow from first {0},graph 0 to first {0},graph 1 nohead dt 3 lw 1.2 lc rgb '#777777'\n", e);
    names +=
        fmt::format("set label {} at first {},graph 0.97 right rotate by 90 offset -1,0 font ',8' tc rgb '#555555'\n",
                    gp_quoted(text), e);
  }
  const std::string x = "set xrange " + epochs.text(0.5) + "\n" + marks;
  std::string top =
      margins(40, 40 + panel) + x + names + "set format x ''\nset xlabel ''\nunset key\nset ylabel 'loss'\n";
  top += loss.empty() ? "set yrange [0:1]\n" : "set yrange " + loss.text(0.05) + "\n";
  if (!kd_loss.empty())
    top += "set y2label 'distillation loss'\nset y2tics\nset y2range " + kd_loss.text(0.05) + "\nset ytics nomirror\n";
  const std::string acc_label = held_out_split.empty()
                                    ? "accuracy on the training batches (%)"
                                    : "accuracy (%): training batches solid, " + held_out_split + " split dashed";
  std::string bottom = margins(40 + panel + 60, 40 + 2 * panel + 60) +
                       "unset label\nunset y2label\nunset y2tics\nset ytics mirror\nset format x '%g'\n"
                       "set xlabel 'epoch (along the chain: each retrain after the epochs before it)'\nset ylabel " +
                       gp_quoted(acc_label) +
                       "\n"
                       "set yrange " +
                       acc.text(0.5) + "\n";
  bottom += fmt::format("set key at screen 0.5,0.01 center bottom horizontal maxcols 3 width -2 samplen 2 font ',9'\n");
  p.plot = "set multiplot\nset title 'training: loss and accuracy per epoch'\n" + top + "plot " + lplot +
           "\nunset title\n" + bottom + "plot " + aplot + "\nunset multiplot";
  return p;
}

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
        std::string layer, units, amount, accuracy, drop;
        for (std::string* f : {&layer, &units, &amount, &accuracy, &drop}) std::getline(row, *f, ',');
        if (layer != current) {
          if (n) data += "EOD\n";
          // The unpruned accuracy first: every curve starts there.
          data += fmt::format("$l{} << EOD\n0 {}\n", n, 100 * (std::stod(accuracy) + std::stod(drop)));
          plot += fmt::format("{}$l{} using 1:2 with linespoints pt 7 ps 0.6 lc rgb '{}' title {}", n ? ", " : "", n,
                              series_colour(static_cast<std::size_t>(n)), gp_quoted(layer));
          current = layer;
          ++n;
        }
        data += fmt::format("{} {}\n", 100 * std::stod(amount), 100 * std::stod(accuracy));
      }
      if (!n) continue;
      data += "EOD\n";
      Plot p{fmt::format("sensitivity_{}_{}", r.record.recipe, s.id),
             fmt::format("set title {}\nset xlabel 'share of the layer pruned (%)'\nset ylabel 'accuracy (%)'\nset key "
                         "outside right font ',9'",
                         gp_quoted(fmt::format("{}: {}", r.record.recipe, report_label(r, s)))),
             data, "plot " + plot};
      p.width = 1000;
      out.push_back(p);
    }
  return out;
}

}  // namespace whittle::runtime
