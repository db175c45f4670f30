// The run record (YAML, kept in the cache as runs/<recipe>.yaml): what ran, with which keys,
// parameters and metrics, on which versions and device — enough to reproduce a run, and what
// `plan --explain` compares against to say why a stage is stale.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace whittle::runtime {

constexpr int kRecordFormat = 1;
/// The largest run record whittle reads (a 10,000-stage sweep writes a few MB).
constexpr std::uintmax_t kMaxRecordBytes = 64u << 20;

struct StageRecord {
  int id = 0;
  std::string kind;
  std::string where;
  std::string file;
  int line = 0;
  std::string key;
  std::vector<std::string> inputs;  ///< "model <key>", "data <key>"
  int seed = 0;
  std::vector<std::pair<std::string, std::string>> params;  ///< canonical values, catalog order
  std::string status;                                       ///< ran, cached, failed, planned
  double seconds = 0;
  std::string device;  ///< where its entry was computed: cpu, cuda
  std::map<std::string, double> metrics;
};

struct RunRecord {
  int format = kRecordFormat;
  std::string recipe;
  std::string file;
  std::string recipe_sha256;
  std::string whittle_version;
  std::string libtorch_version;
  std::string device;  ///< the devices the stages that ran used ("cpu+cuda"; "none": all cached); "slurm: ..." on Slurm
  int threads = 0;
  std::string started, finished;
  std::vector<StageRecord> stages;
};

/// The split a stage measured on: its `split:` ("test", "validation"), "test" for a stage that
/// measures on the test split without one (convert, export); "" where its record does not say how
/// many images it used (a run of an older whittle).
std::string measured_split(const StageRecord& s);
/// What it measured on, for people: "test, all 10000", "test, 1000 of 10000"; "" as above.
std::string measured_on(const StageRecord& s);
/// Whether it measured on the whole test split (false where the record does not say).
bool on_whole_test_split(const StageRecord& s);

std::string record_yaml(const RunRecord& r);
std::string record_json(const RunRecord& r);
std::optional<RunRecord> read_record(const std::string& path);
/// The stage `id` of a run record, or nullptr.
const StageRecord* record_of(const RunRecord& r, long long id);
/// Writes atomically (temporary file + rename).
void write_record(const RunRecord& r, const std::string& path);

}  // namespace whittle::runtime
