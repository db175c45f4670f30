// A gnuplot figure as whittle draws it: the script with its data inline (so that it can be restyled
// and redrawn without whittle), the quoting it needs, a fixed plot area so that data coordinates
// map to pixels, and labels placed where they overprint neither each other nor the points.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace whittle::runtime {

struct Plot {
  std::string name, settings, data, plot;
  int width = 900, height = 600;
  /// The whole gnuplot script, writing NAME.png and NAME.svg into `dir`.
  std::string script(const std::filesystem::path& dir) const;
};

/// A gnuplot string literal: 'it''s'.
std::string gp_quoted(const std::string& s);
/// A label inside an inline data block: "text" with no double quotes or line breaks.
std::string gp_data_label(const std::string& s);

/// Colours that stay apart on a slide and in greyscale print (gnuplot's `lc rgb`), cycled.
const char* series_colour(std::size_t i);

/// A plot area given in pixels, with the data ranges it shows.
struct PlotArea {
  double left = 0, right = 0, top = 0, bottom = 0;  ///< pixels from the image's left and top edges
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;            ///< the data ranges
  double px(double x) const { return left + (x - x0) / (x1 - x0) * (right - left); }
  double py(double y) const { return bottom - (y - y0) / (y1 - y0) * (bottom - top); }
  /// gnuplot settings that make the margins and ranges exactly these, in an image w × h.
  std::string settings(int w, int h) const;
};

struct PlacedLabel {
  double x = 0, y = 0;  ///< where the label's left end sits, in pixels (its vertical middle)
  bool leader = false;  ///< far from its point: draw a line to it
};
/// Places a label beside each point (pixels; texts of `chars` characters, about char_w × char_h
/// pixels each), inside the area, so that no two labels overlap and no label covers a point:
/// the nearest free spot around the point, farther out (with a leader line) when the near ones are
/// taken. A label that finds no free spot at all goes where it overlaps least.
std::vector<PlacedLabel> place_labels(const std::vector<std::pair<double, double>>& points,
                                      const std::vector<std::size_t>& chars, const PlotArea& area, double char_w = 7,
                                      double char_h = 13);

/// Whether two labels placed by place_labels overlap (for tests).
bool labels_overlap(const PlacedLabel& a, std::size_t chars_a, const PlacedLabel& b, std::size_t chars_b,
                    double char_w = 7, double char_h = 13);

}  // namespace whittle::runtime
