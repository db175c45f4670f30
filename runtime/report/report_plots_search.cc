// The report's plot of each finished search (report_plots.h): every trained candidate's measured
// metric against its measured objective, passing and failing apart, the constraint's line, the
// frontier of what was trained (no other trained candidate both cheaper and better) and the chosen
// candidate marked. The untrained ones have no measurement: the run's table lists them.
#include <fmt/format.h>

#include <algorithm>

#include "runtime/exec/search_run.h"
#include "runtime/report/report_plots.h"

namespace whittle::runtime {

std::vector<Plot> search_plots(const std::vector<Run>& runs) {
  std::vector<Plot> out;
  for (const Run& r : runs) {
    if (!r.plan || !r.store) continue;
    for (const auto& d : search_decisions(*r.plan, *r.store)) {
      const std::string objective = d.at("objective"), metric = d.at("metric");
      const bool share = metric != "loss" && metric != "latency", at_most = d.at("at_most");
      const double scale = share ? 100 : 1;
      struct Pt {
        double x, y;
        std::string label, status;
      };
      std::vector<Pt> pts;
      for (const auto& row : d.at("rows"))
        if (!row.at("metric").is_null())
          pts.push_back({row.at("objective").get<double>(), scale * row.at("metric").get<double>(),
                         row.at("label").get<std::string>(), row.at("status").get<std::string>()});
      if (pts.empty()) continue;
      // The frontier: sorted by objective, each point better than every cheaper one.
      std::vector<Pt> front;
      std::vector<Pt> sorted = pts;
      std::sort(sorted.begin(), sorted.end(), [](const Pt& a, const Pt& b) { return a.x < b.x; });
      for (const Pt& p : sorted)
        if (front.empty() || (at_most ? p.y < front.back().y : p.y > front.back().y)) front.push_back(p);
      const double bar = scale * d.at("bar").get<double>();
      double xmax = 0, ylo = bar, yhi = bar;
      for (const auto& p : pts) xmax = std::max(xmax, p.x), ylo = std::min(ylo, p.y), yhi = std::max(yhi, p.y);
      const double pad = std::max(0.5, (yhi - ylo) * 0.15);
      Plot p{fmt::format("search_{}", d.at("search").get<int>()), "", "", ""};
      p.width = 1000;
      p.height = 620;
      const std::string unit = share ? "%" : metric == "latency" ? " ms" : "";
      p.settings = fmt::format(
          "set xrange [0:{}]\nset yrange [{}:{}]\nset xlabel {}\nset ylabel {}\nset title {}\nset key bottom right box "
          "opaque\nset grid\n",
          xmax * 1.3, ylo - pad, yhi + pad, gp_quoted(fmt::format("{} (measured, lower is better)", objective)),
          gp_quoted(fmt::format("{} on the validation split{}", metric, share ? " (%)" : "")),
          gp_quoted(fmt::format("search #{}: {} trained of {} candidates; chose {}", d.at("search").get<int>(),
                                d.at("trainings").get<int>(), d.at("candidates").get<int>(),
                                d.at("chosen_label").get<std::string>())));
      for (const auto& pt : pts)
        p.settings +=
            fmt::format("set label {} at first {},{} offset 0.8,0.6 font ',9'\n", gp_quoted(pt.label), pt.x, pt.y);
      auto block = [&](const std::string& name, auto keep) {
        std::string b;
        for (const auto& pt : pts)
          if (keep(pt)) b += fmt::format("{} {}\n", pt.x, pt.y);
        p.data += fmt::format("${} << EOD\n{}EOD\n", name, b.empty() ? "NaN NaN\n" : b);
      };
      block("passing", [](const Pt& q) { return q.status == "passing" || q.status == "chosen"; });
      block("failing", [](const Pt& q) { return q.status == "failing"; });
      block("chosen", [](const Pt& q) { return q.status == "chosen"; });
      std::string f;
      for (const auto& q : front) f += fmt::format("{} {}\n", q.x, q.y);
      p.data += fmt::format("$front << EOD\n{}EOD\n", f);
      p.plot =
          fmt::format(
              "plot {} with lines dt 2 lw 2 lc rgb '#C00000' title {}", bar,
              gp_quoted(fmt::format("{} {} {}{}", metric, at_most ? "<=" : ">=", fmt::format("{:g}", bar), unit))) +
          ", $front using 1:2 with steps lw 1 lc rgb '#888888' title 'frontier of the trained'" +
          ", $passing using 1:2 with points pt 7 ps 1.4 lc rgb '#1a7f37' title 'passing'" +
          ", $failing using 1:2 with points pt 5 ps 1.3 lc rgb '#C00000' title 'failing'" +
          ", $chosen using 1:2 with points pt 6 ps 3 lw 2 lc rgb '#000000' title 'chosen'";
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace whittle::runtime
