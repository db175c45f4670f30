// The report's plots (gnuplot scripts with their data inline, drawn as NAME.png and NAME.svg and
// kept beside them as NAME.gp): what a student puts on a slide and a reader of a report expects.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runtime/report/plot.h"
#include "runtime/report/run.h"

namespace whittle::runtime {

/// Accuracy against the score in `preset` for every measured model of every run: a point per model,
/// named (point_label) beside it or, past a dozen points, by a number and a key; coloured by recipe,
/// outer sweep branch or method; the y-range fitted to the data with the 90% line always in it.
std::optional<Plot> accuracy_vs_score_plot(const std::vector<Run>& runs, const std::string& preset);
/// Per sweep: each metric measured (accuracy, latency, the score in `preset`) against the innermost
/// swept value, one line per outer branch.
std::vector<Plot> sweep_plots(const std::vector<Run>& runs, const std::string& preset);
/// Per finished search: its trained candidates' measured metric against their measured objective,
/// the constraint's line, the frontier of what was trained and the chosen candidate (search_N).
std::vector<Plot> search_plots(const std::vector<Run>& runs);
/// Training and validation (when `eval_every` is set) loss and accuracy per epoch along each chain:
/// every train and retrain placed after the epochs before it; distillation loss on its own axis.
std::optional<Plot> training_plot(const std::vector<Run>& runs);
/// Accuracy against the share pruned, one curve per layer, for every sensitivity scan.
std::vector<Plot> sensitivity_plots(const std::vector<Run>& runs);
/// Sparsity per layer of each run's model `as model` (default: the one a submission packs), its
/// blocks (layer2, dense3) marked; its CSV is written into `dir` too.
std::vector<Plot> sparsity_plots(const std::vector<Run>& runs, const std::filesystem::path& dir,
                                 const std::string& model);
/// Histograms of the weights of that model as trained, after pruning, and after quantization.
std::vector<Plot> weight_histogram_plots(const std::vector<Run>& runs, const std::string& model);

}  // namespace whittle::runtime
