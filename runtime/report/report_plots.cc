// The plots of a run's measured models: accuracy against score, and the curves of a sweep.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "lang/source.h"
#include "runtime/plan/metrics.h"
#include "runtime/report/report_plots.h"

namespace whittle::runtime {

namespace {

struct Point {
  double x, y;
  std::string label, group;
};

/// What a point's colour says: the recipe when there are several, else the outer sweep branch when
/// there is one, else the method (the kind of the stage that made the model).
std::string point_group(const std::vector<Run>& runs, const Run& r, const StageRecord& s) {
  if (runs.size() > 1) return r.record.recipe;
  if (const auto comma = s.where.find(", "); comma != std::string::npos) {
    return branch_text(s.where.substr(0, comma));
  }
  const int m = measured_model(r, s);
  return m < 0 ? s.kind : r.plan->stage(m).kind;
}

/// [lo - pad, hi + pad] around the values, never empty.
std::pair<double, double> padded(double lo, double hi, double share, double least) {
  const double pad = std::max(least, share * (hi - lo));
  return {lo - pad, hi + pad};
}

/// The accuracy axis of figures measured on `stages`: "test accuracy (%)" when every one is of the
/// whole test split, else what they were measured on ("accuracy (%) on test, 1000 of 10000", or
/// "as each point's label says" when they differ).
std::string accuracy_axis(const std::vector<const StageRecord*>& stages) {
  bool whole = true;
  std::set<std::string> on;
  for (const StageRecord* s : stages) whole = whole && on_whole_test_split(*s), on.insert(measured_on(*s));
  if (whole) return "test accuracy (%)";
  if (on.size() == 1 && !on.begin()->empty()) return "accuracy (%) on " + *on.begin();
  return on.count("") ? "accuracy (%)" : "accuracy (%), measured on what each label says";
}

/// A point's label, with what it was measured on where that is not the whole test split.
std::string measured_label(const std::string& label, const StageRecord& s) {
  const std::string on = measured_on(s);
  return on.empty() || on_whole_test_split(s) ? label : label + " [" + on + "]";
}

}  // namespace

std::optional<Plot> accuracy_vs_score_plot(const std::vector<Run>& runs, const std::string& preset) {
  const std::string key = score_key(preset);
  std::vector<Point> pts;
  std::vector<std::string> groups;
  std::vector<const StageRecord*> measured_stages;
  std::set<std::string> measured_ons;  // one: the axis says it, the points need not
  for (const auto& r : runs)
    for (const auto& s : r.record.stages) {
      if (!measured(s.metrics, "accuracy") || !s.metrics.count(key)) continue;
      measured_stages.push_back(&s), measured_ons.insert(measured_on(s));
      pts.push_back({s.metrics.at(key), 100 * s.metrics.at("accuracy"), point_label(r, s), point_group(runs, r, s)});
      if (std::find(groups.begin(), groups.end(), pts.back().group) == groups.end()) groups.push_back(pts.back().group);
    }
  if (pts.empty()) return std::nullopt;
  if (measured_ons.size() > 1)
    for (std::size_t i = 0; i < pts.size(); ++i) pts[i].label = measured_label(pts[i].label, *measured_stages[i]);
  // Named beside the points while that stays readable; past a dozen, numbered with a key of names.
  const bool numbered = pts.size() > 12;
  Plot p{"accuracy_vs_score", "", "", ""};
  p.width = 1000;
  p.height = numbered ? std::max(620, 110 + 15 * static_cast<int>(pts.size())) : 620;
  double xmax = 0, ylo = 90, yhi = 90;
  for (const auto& pt : pts) xmax = std::max(xmax, pt.x), ylo = std::min(ylo, pt.y), yhi = std::max(yhi, pt.y);
  PlotArea area;
  area.left = 80, area.top = 40, area.right = numbered ? 640 : 970, area.bottom = p.height - 90;
  area.x0 = 0, area.x1 = xmax > 0 ? xmax * 1.12 : 1;
  std::tie(area.y0, area.y1) = padded(ylo, yhi, 0.12, 0.6);
  area.y1 = std::min(area.y1, 100.5);
  p.settings =
      area.settings(p.width, p.height) +
      fmt::format(
          "\nset xlabel {}\nset ylabel {}\nset title {}\n"
          "set key at screen {:.4f},0.01 center bottom horizontal maxrows 2 box opaque",
          gp_quoted(fmt::format("score ({}, lower is better)", preset)), gp_quoted(accuracy_axis(measured_stages)),
          gp_quoted(fmt::format("accuracy against score ({}), with the 90% target", preset)),
          (area.left + area.right) / 2 / p.width);
  // Labels placed clear of each other and of the points.
  std::vector<std::pair<double, double>> px;
  std::vector<std::size_t> chars;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    px.emplace_back(area.px(pts[i].x), area.py(pts[i].y));
    chars.push_back(numbered ? std::to_string(i + 1).size() : lang::count_code_points(pts[i].label));
  }
  const auto placed = place_labels(px, chars, area);
  std::string labels;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const double sx = placed[i].x / p.width, sy = 1 - placed[i].y / p.height;
    labels += fmt::format("set label {} at screen {:.5f},{:.5f} left front font ',9'\n",
                          gp_quoted(numbered ? std::to_string(i + 1) : pts[i].label), sx, sy);
    if (placed[i].leader)
      labels += fmt::format("set arrow from first {},{} to screen {:.5f},{:.5f} nohead lc rgb '#999999' lw 0.6\n",
                            pts[i].x, pts[i].y, sx, sy);
  }
  if (numbered) {  // the key of names, in the right margin
    labels += fmt::format("set label {} at screen {:.4f},{:.4f} left font ',9'\n", gp_quoted("points:"),
                          660.0 / p.width, 1 - 40.0 / p.height);
    for (std::size_t i = 0; i < pts.size(); ++i)
      labels += fmt::format("set label {} at screen {:.4f},{:.4f} left font ',9'\n",
                            gp_quoted(fmt::format("{:>2}  {}", i + 1, pts[i].label)), 660.0 / p.width,
                            1 - (57.0 + 15.0 * static_cast<double>(i)) / p.height);
  }
  p.settings += "\n" + labels +
                fmt::format("set label '90%' at first {},90 right offset -0.5,0.7 textcolor rgb '#C00000'", area.x1);
  p.plot = "plot 90 with lines dt 2 lw 2 lc rgb '#C00000' title '90% target'";
  for (std::size_t g = 0; g < groups.size(); ++g) {
    std::string block;
    for (const auto& pt : pts)
      if (pt.group == groups[g]) block += fmt::format("{} {}\n", pt.x, pt.y);
    p.data += fmt::format("$g{} << EOD\n{}EOD\n", g, block);
    p.plot += fmt::format(", $g{} using 1:2 with points pt 7 ps 1.3 lc rgb '{}' title {}", g, series_colour(g),
                          gp_quoted(groups[g]));
  }
  return p;
}

namespace {

/// A branch's place in a sweep: "sweep lr=0.01, sweep amount=30%" → the innermost variable
/// ("amount", "30%") and the outer branch ("lr=0.01").
struct Branch {
  std::string var, value, outer;
};
std::optional<Branch> branch_of(const std::string& where) {
  if (where.empty()) return std::nullopt;
  const auto comma = where.rfind(", ");
  std::string inner = comma == std::string::npos ? where : where.substr(comma + 2);
  Branch b;
  b.outer = comma == std::string::npos ? "" : branch_text(where.substr(0, comma));
  if (inner.rfind("sweep ", 0) == 0) {
    inner = inner.substr(6);
    const auto eq = inner.find('=');
    if (eq == std::string::npos) return std::nullopt;
    b.var = inner.substr(0, eq), b.value = inner.substr(eq + 1);
  } else if (inner.rfind("repeat ", 0) == 0) {  // "repeat 2/7": the round
    b.var = "round", b.value = inner.substr(7, inner.find('/') - 7);
  } else {
    return std::nullopt;
  }
  return b;
}

/// A swept value on a numeric axis: "30%" → 30, "0.01" → 0.01; nullopt for a word.
std::optional<double> numeric(const std::string& v) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (end == v.c_str()) return std::nullopt;
  const std::string rest(end);
  if (!rest.empty() && rest != "%" && rest.find_first_not_of(" abcdefghijklmnopqrstuvwxyz%") != std::string::npos)
    return std::nullopt;
  return d;
}

}  // namespace

std::vector<Plot> sweep_plots(const std::vector<Run>& runs, const std::string& preset) {
  std::vector<Plot> out;
  const std::vector<std::pair<std::string, std::string>> metrics = {{"accuracy", "test accuracy (%)"},
                                                                    {"latency_ms", "latency per batch (ms)"},
                                                                    {score_key(preset), "score (" + preset + ")"}};
  for (const auto& r : runs) {
    // Lines: outer branch and what was measured (the method of the model), in order of appearance.
    struct Line {
      std::string title;
      std::vector<std::pair<std::string, const StageRecord*>> points;  // swept value, stage
    };
    std::vector<Line> lines;
    std::string var;
    std::vector<std::string> values;
    auto method = [&](const StageRecord& s) {
      const int m = measured_model(r, s);
      return m < 0 ? s.kind : r.plan->stage(m).kind;
    };
    std::set<std::string> kinds;
    for (const auto& s : r.record.stages)
      if (measured(s.metrics, "accuracy") && branch_of(s.where)) kinds.insert(method(s));
    for (const auto& s : r.record.stages) {
      const auto b = branch_of(s.where);
      if (!b || !measured(s.metrics, "accuracy") || (!var.empty() && b->var != var)) continue;
      var = b->var;
      std::string title = b->outer;
      if (kinds.size() > 1) title += std::string(title.empty() ? "" : ", ") + "after " + method(s);
      auto line = std::find_if(lines.begin(), lines.end(), [&](const Line& l) { return l.title == title; });
      if (line == lines.end()) line = lines.insert(lines.end(), Line{title, {}});
      line->points.emplace_back(b->value, &s);
      if (std::find(values.begin(), values.end(), b->value) == values.end()) values.push_back(b->value);
    }
    if (values.size() < 2) continue;
    bool is_numeric = true;
    for (const auto& v : values) is_numeric = is_numeric && numeric(v).has_value();
    bool percent = is_numeric;
    for (const auto& v : values) percent = percent && !v.empty() && v.back() == '%';
    const std::string axis = percent ? var + " (%)" : var;
    std::string xtics;
    if (!is_numeric)
      for (std::size_t i = 0; i < values.size(); ++i)
        xtics += fmt::format("{}{} {}", i ? ", " : "", gp_quoted(values[i]), i);
    std::vector<const StageRecord*> swept;
    for (const auto& l : lines)
      for (const auto& pt : l.points) swept.push_back(pt.second);
    for (auto [key, label] : metrics) {
      if (key == "accuracy") label = accuracy_axis(swept);
      std::string data, plot;
      double lo = 1e300, hi = -1e300, xlo = 1e300, xhi = -1e300;
      for (std::size_t l = 0; l < lines.size(); ++l) {
        std::string block;
        for (const auto& [value, s] : lines[l].points) {
          if (!s->metrics.count(key)) continue;
          const double x = is_numeric
                               ? *numeric(value)
                               : static_cast<double>(std::find(values.begin(), values.end(), value) - values.begin());
          const double y = s->metrics.at(key) * metric_def(key).scale;
          block += fmt::format("{} {}\n", x, y);
          lo = std::min(lo, y), hi = std::max(hi, y), xlo = std::min(xlo, x), xhi = std::max(xhi, x);
        }
        if (block.empty()) continue;
        data += fmt::format("$l{} << EOD\n{}EOD\n", l, block);
        plot += fmt::format("{}$l{} using 1:2 with linespoints pt 7 ps 1 lw 2 lc rgb '{}' title {}",
                            plot.empty() ? "" : ", ", l, series_colour(l),
                            gp_quoted(lines[l].title.empty() ? label : lines[l].title));
      }
      if (plot.empty() || hi < lo) continue;
      if (key == "accuracy" && lo < 95 && hi > 80) lo = std::min(lo, 90.0), hi = std::max(hi, 90.0);
      const auto [y0, y1] = padded(lo, hi, 0.08, key == "accuracy" ? 0.5 : std::max(1e-12, 0.05 * std::fabs(hi)));
      const auto [x0, x1] = padded(xlo, xhi, 0.04, 0.5);
      std::string settings = fmt::format(
          "set title {}\nset xlabel {}\nset ylabel {}\nset key outside right top\nset xrange [{}:{}]\nset yrange "
          "[{}:{}]",
          gp_quoted(fmt::format("{}: {} against {}", r.record.recipe, label, var)), gp_quoted(axis), gp_quoted(label),
          x0, x1, y0, y1);
      if (!xtics.empty()) settings += "\nset xtics (" + xtics + ")";
      if (key == "accuracy" && y0 < 90 && y1 > 90)
        plot = "90 with lines dt 2 lw 1.5 lc rgb '#C00000' title '90% target', " + plot;
      std::string name = key == "accuracy" ? "accuracy" : key == "latency_ms" ? "latency" : "score";
      out.push_back({fmt::format("sweep_{}_{}", r.record.recipe, name), settings, data, "plot " + plot});
    }
  }
  return out;
}

}  // namespace whittle::runtime
