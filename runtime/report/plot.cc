#include "runtime/report/plot.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace whittle::runtime {
namespace fs = std::filesystem;

std::string Plot::script(const fs::path& dir) const {
  const std::string base = (dir / name).string();
  return fmt::format(
      "# whittle report: {0}; redraw with `gnuplot {0}.gp`\n{1}\nset encoding utf8\nset grid\n{2}\n"
      "set terminal pngcairo size {3},{4} noenhanced font ',10'\nset output {5}\n{6}\n"
      "set terminal svg size {3},{4} noenhanced font 'sans,10' background rgb 'white'\nset output {7}\n{6}\nunset "
      "output\n",
      name, data, settings, width, height, gp_quoted(base + ".png"), plot, gp_quoted(base + ".svg"));
}

std::string gp_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string gp_data_label(const std::string& s) {
  std::string out = s;
  for (char& c : out) c = (c == '"' || c == '\n') ? '\'' : c;
  return "\"" + out + "\"";
}

const char* series_colour(std::size_t i) {
  // Okabe and Ito's palette for colour-blind readers, then darker tones.
  static const char* colours[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
                                  "#F0E442", "#7F3C8D", "#11A579", "#3969AC", "#F2B701", "#E73F74", "#80BA5A"};
  return colours[i % (sizeof colours / sizeof *colours)];
}

std::string PlotArea::settings(int w, int h) const {
  return fmt::format(
      "set lmargin at screen {:.4f}\nset rmargin at screen {:.4f}\nset tmargin at screen {:.4f}\nset bmargin at screen "
      "{:.4f}\n"
      "set xrange [{}:{}]\nset yrange [{}:{}]",
      left / w, right / w, 1 - top / h, 1 - bottom / h, x0, x1, y0, y1);
}

namespace {

struct Box {
  double x0, y0, x1, y1;
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

Box label_box(const PlacedLabel& l, std::size_t chars, double cw, double ch) {
  return {l.x - 1, l.y - ch / 2, l.x + static_cast<double>(chars) * cw + 1, l.y + ch / 2};
}

}  // namespace

bool labels_overlap(const PlacedLabel& a, std::size_t ca, const PlacedLabel& b, std::size_t cb, double cw, double ch) {
  return label_box(a, ca, cw, ch).overlaps(label_box(b, cb, cw, ch));
}

std::vector<PlacedLabel> place_labels(const std::vector<std::pair<double, double>>& points,
                                      const std::vector<std::size_t>& chars, const PlotArea& area, double cw,
                                      double ch) {
  constexpr double marker = 6;  // half the side of the box a point's marker covers
  std::vector<Box> taken;
  for (const auto& [x, y] : points) taken.push_back({x - marker, y - marker, x + marker, y + marker});
  std::vector<PlacedLabel> out;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto [px, py] = points[i];
    const double w = static_cast<double>(chars[i]) * cw;
    PlacedLabel best;
    int best_overlaps = std::numeric_limits<int>::max();
    // Rings of spots around the point, nearest first: right, left, above, below, then the corners.
    for (int ring = 0; ring < 8 && best_overlaps > 0; ++ring) {
      const double dx = 8 + 16 * ring, dy = ch * 0.5 + marker + 2 + 13 * ring;
      const std::pair<double, double> spots[] = {{px + dx, py},          {px - dx - w, py},     {px - w / 2, py - dy},
                                                 {px - w / 2, py + dy},  {px + dx, py - dy},    {px + dx, py + dy},
                                                 {px - dx - w, py - dy}, {px - dx - w, py + dy}};
      for (const auto& [x, y] : spots) {
        const PlacedLabel l{x, y, ring >= 2};
        const Box b = label_box(l, chars[i], cw, ch);
        if (b.x0 < area.left || b.x1 > area.right || b.y0 < area.top || b.y1 > area.bottom) continue;
        int overlaps = 0;
        for (const Box& t : taken) overlaps += b.overlaps(t);
        if (overlaps < best_overlaps) best = l, best_overlaps = overlaps;
        if (overlaps == 0) break;
      }
    }
    if (best_overlaps == std::numeric_limits<int>::max()) best = {px + 8, py, false};  // nowhere inside: beside it
    taken.push_back(label_box(best, chars[i], cw, ch));
    out.push_back(best);
  }
  return out;
}

}  // namespace whittle::runtime
