#include "runtime/plan/metrics.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace whittle::runtime {

const std::vector<MetricDef>& metric_defs() {
  static const std::vector<MetricDef> defs = {
      {"accuracy", "test accuracy", "accuracy", "{:.2f}%", 100, true},
      {"precision", "macro precision", "precision", "{:.4f}", 1, false},
      {"recall", "macro recall", "recall", "{:.4f}", 1, false},
      {"f1", "macro F1", "F1", "{:.4f}", 1, false},
      {"params", "parameters", "params", "{:.0f}", 1, true},
      {"nonzero", "non-zero parameters", "nonzero", "{:.0f}", 1, true},
      {"sparsity", "sparsity (prunable)", "sparsity", "{:.1f}%", 100, true},
      {"sparsity_all", "sparsity (all parameters)", "of all", "{:.1f}%", 100, false},
      {"macs", "MACs", "MACs", "", 1, true},  // short form: 555.4M
      {"bits", "bits", "bits", "{:.0f}", 1, true},
      {"activation_bits", "activation bits", "act bits", "{:.0f}", 1, false},
      // The score in each preset (docs/course.md, "The score"); a table shows the one its recipe
      // scores with (score_key), every submission claims all four.
      {"score", "score (course2025)", "course2025", "{:.5g}", 1, true},
      {"score_course2024", "score (course2024)", "course2024", "{:.5g}", 1, true},
      {"score_course2021", "score (course2021)", "course2021", "{:.5g}", 1, true},
      {"score_micronet2019", "score (micronet2019)", "micronet2019", "{:.5g}", 1, true},
      {"preset_score", "score (the stage's preset and count)", "preset score", "{:.5g}", 1, false},
      {"size_mib", "size (MiB)", "MiB", "{:.3f}", 1, true},
      {"packed_mib", "packed size (MiB)", "packed MiB", "{:.3f}", 1, true},
      {"sparse_mib", "sparse size (MiB)", "sparse MiB", "{:.3f}", 1, true},
      {"latency_ms", "latency per batch (ms)", "latency", "{:.2f} ms", 1, false},
      {"latency_batch", "latency batch size", "batch", "{:.0f}", 1, false},
  };
  return defs;
}

const MetricDef& metric_def(std::string_view key) {
  for (const auto& d : metric_defs())
    if (key == d.key) return d;
  throw std::logic_error(fmt::format("`{}` is not a metric of runtime/plan/metrics.cc", key));
}

const std::vector<std::string>& score_presets() {
  static const std::vector<std::string> presets = {"course2025", "course2024", "course2021", "micronet2019"};
  return presets;
}

std::string score_key(std::string_view preset) {
  if (preset == "course2025") return "score";
  for (const auto& p : score_presets())
    if (preset == p) return "score_" + p;
  throw std::logic_error(fmt::format("`{}` is not a score preset of runtime/plan/metrics.cc", preset));
}

bool measured(const Metrics& m, std::string_view key) {
  metric_def(key);
  return m.count(std::string(key)) > 0;
}

std::string format_metric(const Metrics& m, std::string_view key) {
  const MetricDef& d = metric_def(key);
  auto it = m.find(std::string(key));
  if (it == m.end()) return "-";
  const double v = it->second * d.scale;
  if (key == "macs") {
    if (v >= 1e9) return fmt::format("{:.1f}G", v / 1e9);
    if (v >= 1e6) return fmt::format("{:.1f}M", v / 1e6);
    return fmt::format("{:.1f}K", v / 1e3);
  }
  return fmt::format(fmt::runtime(d.spec), v);
}

std::string float_activations_note(const Metrics& m) {
  const auto at = [&](const char* k) { return m.count(k) ? m.at(k) : std::nan(""); };
  if (!(at("bits") < 32) || !(at("activation_bits") >= 32) || !(at("score_ops_share") > 0.5)) return "";
  return fmt::format(
      "the activations stay at 32 bits and the ops term is {:.0f}% of course2025 here: quantizing the weights further "
      "moves "
      "the score little",
      100 * at("score_ops_share"));
}

std::string raw_metric(const Metrics& m, std::string_view key) {
  metric_def(key);
  auto it = m.find(std::string(key));
  return it == m.end() ? "" : fmt::format("{}", it->second);
}

}  // namespace whittle::runtime
