// Plot labels (runtime/report/plot.h): placed clear of each other and of the points, inside the plot area.
#include <catch2/catch.hpp>

#include <random>

#include "runtime/report/plot.h"

using namespace whittle::runtime;

namespace {

PlotArea area() {
  PlotArea a;
  a.left = 80, a.right = 900, a.top = 40, a.bottom = 560;
  a.x0 = 0, a.x1 = 1, a.y0 = 0, a.y1 = 100;
  return a;
}

void check_clear(const std::vector<std::pair<double, double>>& pts, const std::vector<std::size_t>& chars,
                 const PlotArea& a) {
  const auto placed = place_labels(pts, chars, a);
  REQUIRE(placed.size() == pts.size());
  for (std::size_t i = 0; i < placed.size(); ++i) {
    INFO("label " << i);
    CHECK(placed[i].x >= a.left);
    CHECK(placed[i].x + 7.0 * static_cast<double>(chars[i]) <= a.right + 1);
    for (std::size_t j = 0; j < i; ++j) CHECK_FALSE(labels_overlap(placed[i], chars[i], placed[j], chars[j]));
    for (const auto& [x, y] : pts) {  // no label covers a point
      const bool covers = x + 6 > placed[i].x - 1 && x - 6 < placed[i].x + 7.0 * static_cast<double>(chars[i]) + 1 &&
                          y + 6 > placed[i].y - 6.5 && y - 6 < placed[i].y + 6.5;
      CHECK_FALSE(covers);
    }
  }
}

}  // namespace

TEST_CASE("labels of points that sit on top of each other do not overprint", "[plot]") {
  const PlotArea a = area();
  // A sweep whose points coincide: five at one spot, five a few pixels apart.
  std::vector<std::pair<double, double>> pts;
  std::vector<std::size_t> chars;
  for (int i = 0; i < 5; ++i) pts.emplace_back(a.px(0.5), a.py(76)), chars.push_back(18);
  for (int i = 0; i < 5; ++i) pts.emplace_back(a.px(0.5) + 3 * i, a.py(77) - 2 * i), chars.push_back(2);
  check_clear(pts, chars, a);
}

TEST_CASE("fifty numbered points in a cluster get fifty clear labels", "[plot]") {
  const PlotArea a = area();
  std::mt19937 rng(7);
  std::normal_distribution<double> x(0.4, 0.08), y(80, 4);
  std::vector<std::pair<double, double>> pts;
  std::vector<std::size_t> chars;
  for (int i = 0; i < 50; ++i) pts.emplace_back(a.px(x(rng)), a.py(y(rng))), chars.push_back(i < 9 ? 1 : 2);
  check_clear(pts, chars, a);
}

TEST_CASE("a plot area maps its data ranges onto its pixels", "[plot]") {
  const PlotArea a = area();
  CHECK(a.px(0) == 80);
  CHECK(a.px(1) == 900);
  CHECK(a.py(0) == 560);
  CHECK(a.py(100) == 40);
  CHECK(a.settings(1000, 600).find("set lmargin at screen 0.0800") != std::string::npos);
  CHECK(gp_quoted("it's") == "'it''s'");
  CHECK(gp_data_label("a \"b\"") == "\"a 'b'\"");
}
