// The report's plots: gnuplot scripts with their data inline, drawn as NAME.png and NAME.svg, kept
// beside the plots so that one can be restyled and redrawn without whittle.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runtime/report.h"

namespace whittle::runtime {

struct Plot {
  std::string name, settings, data, plot;
  int width = 900, height = 600;
  /// The whole gnuplot script, writing NAME.png and NAME.svg into `dir`.
  std::string script(const std::filesystem::path& dir) const;
};

/// Accuracy against score for every measured model of every run, with the 90% line.
std::optional<Plot> accuracy_vs_score_plot(const std::vector<Run>& runs);
/// Training loss and accuracy per epoch, along each chain.
std::optional<Plot> training_plot(const std::vector<Run>& runs);
/// Sparsity per layer of each run's last model; its CSV is written into `dir` too.
std::vector<Plot> sparsity_plots(const std::vector<Run>& runs, const std::filesystem::path& dir);
/// Accuracy against the share pruned, one curve per layer, for every sensitivity scan.
std::vector<Plot> sensitivity_plots(const std::vector<Run>& runs);

}  // namespace whittle::runtime
