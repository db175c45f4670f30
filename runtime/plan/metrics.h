// The metrics a stage measures, in one table: each one's name in the run record, its label, how it
// is shown (scale and format) and whether a submission claims it. The run table, the plan's preview,
// the report's tables and the submission's claims all read this table, so a metric is added, named
// or formatted in one place.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace whittle::runtime {

using Metrics = std::map<std::string, double>;

struct MetricDef {
  const char* key;       ///< its name in the run record and in JSON: "accuracy"
  const char* label;     ///< for people: "test accuracy", "non-zero parameters"
  const char* header;    ///< a table column's heading: "accuracy", "nonzero"
  const char* spec;      ///< fmt format of the scaled value: "{:.2f}%"
  double scale = 1;      ///< 100 for a share shown in percent
  bool claimed = false;  ///< a submission claims it (claims.json) and `verify` recomputes it
};

/// Every metric, in the order tables show them.
const std::vector<MetricDef>& metric_defs();
/// The definition of `key`; std::logic_error for a name not in the table (a programming error).
const MetricDef& metric_def(std::string_view key);

/// The score presets, newest first (docs/course.md, "The score"); the first is the default.
const std::vector<std::string>& score_presets();
/// The metric that holds the score in `preset`: "score" for course2025 (the default, and the name
/// older run records have), "score_course2021" and so on; a logic_error for another name.
std::string score_key(std::string_view preset);

/// Whether `m` holds `key`, any name a stage records (those outside the table too: "images").
inline bool recorded(const Metrics& m, const std::string& key) { return m.find(key) != m.end(); }

/// Whether `m` holds the metric `key` (a name not in the table is a logic_error).
bool measured(const Metrics& m, std::string_view key);

/// A metric as tables show it ("91.23%", "1.2M" for MACs, "2.00 ms"), or "-" when not measured.
std::string format_metric(const Metrics& m, std::string_view key);
/// Where a model's weights are quantized and its activations left at 32 bits, and the ops term is
/// more than half of its score (a preview's or a score's `score_ops_share`, course2025): what that
/// means for the student, in one sentence; else "". lint's N0002 says it without the share.
std::string float_activations_note(const Metrics& m);

/// Its exact value as CSV holds it (shortest round-trip form), or "" when not measured.
std::string raw_metric(const Metrics& m, std::string_view key);

}  // namespace whittle::runtime
