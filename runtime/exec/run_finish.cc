#include "runtime/exec/run_finish.h"
#include "runtime/system/clock.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "runtime/plan/export_format.h"
#include "runtime/plan/metrics.h"
#include "runtime/plan/params.h"
#include "runtime/system/atomic_file.h"
#include "runtime/torch/api.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

RunRecord execution_record(const Plan& plan, const ExecResult& result) {
  RunRecord r = plan_record(plan);
  for (StageRecord& sr : r.stages) {
    sr.status = "planned";
    for (const StageOutcome& o : result.outcomes) {
      if (o.stage != sr.id) continue;
      sr.status = o.status;
      sr.seconds = o.seconds;
      sr.metrics = o.metrics;
      sr.device = o.device;
    }
  }
  std::set<std::string> used;
  for (const StageOutcome& o : result.outcomes)
    if (o.status == "ran" && !o.device.empty()) used.insert(o.device);
  for (const std::string& d : used) r.device += (r.device.empty() ? "" : "+") + d;
  if (r.device.empty()) r.device = "none";
  return r;
}

namespace {

/// An export's file from its cache entry to its path: nothing there, or the whole file.
bool deliver(const fs::path& from, const fs::path& to, std::string& error) {
  std::ifstream in(from, std::ios::binary);
  if (!in) {
    error = fmt::format("its cache entry has no {}", from.filename().string());
    return false;
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    error = fmt::format("cannot read {}", from.string());
    return false;
  }
  std::error_code ec;
  if (to.has_parent_path()) fs::create_directories(to.parent_path(), ec);
  if (ec) {
    error = fmt::format("cannot create {}: {}", to.parent_path().string(), ec.message());
    return false;
  }
  return write_file_atomic(to.string(), bytes, error);
}

}  // namespace

FinishedRun finish_run(const Plan& plan, const ArtifactStore& store, const ExecResult& result,
                       const RunContext& context) {
  FinishedRun f;
  RunRecord& rec = f.record;
  rec = execution_record(plan, result);
  rec.whittle_version = WHITTLE_VERSION;
  rec.libtorch_version = libtorch_version();
  if (context.slurm) rec.device = "slurm: " + rec.device;
  rec.threads = context.threads;
  rec.started = context.started;
  rec.finished = now_iso();
  try {
    write_record(rec, plan.record_path);
  } catch (const std::exception& e) {
    f.warnings.push_back(fmt::format("the run record was not written: {}", e.what()));
  }
  for (const auto& s : rec.stages) {
    if (!plan.stage(s.id).is(lang::StageDef::Role::Deliver) || (s.status != "ran" && s.status != "cached")) continue;
    const fs::path to = Params(plan.stage(s.id)).word("path");
    std::string error;
    if (deliver(fs::path(store.entry_dir(s.key)) / export_entry_file(plan.stage(s.id)), to, error)) {
      // With what the file computes, read back by another runtime, and on what.
      const auto& m = s.metrics;
      f.delivered.push_back(
          recorded(m, "export_accuracy") && recorded(m, "export_agreement")
              ? fmt::format("{} (read back: {:.2f}% accuracy, {:.2f}% agreement with the model, on {})", to.string(),
                            100 * m.at("export_accuracy"), 100 * m.at("export_agreement"), measured_on(s))
              : to.string());
    } else
      f.errors.push_back(
          fmt::format("{}: could not write the export {}: {}", where_written(plan, s.id), to.string(), error));
  }
  return f;
}

}  // namespace whittle::runtime
