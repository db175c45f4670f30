// The executor.
#include "runtime/executor.h"

#include <fmt/format.h>

#include <chrono>
#include <set>
#include <filesystem>

#include "runtime/atomic_file.h"
#include "runtime/stages.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

/// The R0003 diagnostic of a stage that failed, at its recipe line, with what to do.
lang::Diagnostic failure(const lang::StageInstance& s, const std::exception& e, const ArtifactStore& store) {
  auto d = lang::Diagnostic::make("R0003", s.name_span, fmt::format("stage #{} {} failed: {}", s.id, s.kind, e.what()), "this stage failed");
  const auto* se = dynamic_cast<const StageError*>(&e);
  const auto* we = dynamic_cast<const WriteError*>(&e);
  if (se && !se->help.empty()) d.with_help(se->help);
  else if (we && we->no_space())
    d.with_help(fmt::format("free space where the cache is (`{}`): `whittle cache gc RECIPE` removes the entries no recipe needs, or "
                            "run with --cache on a larger disk",
                            store.root()));
  else if (we || dynamic_cast<const StoreError*>(&e) || dynamic_cast<const std::filesystem::filesystem_error*>(&e))
    d.with_help(fmt::format("the cache `{}` must be writable to compute this stage: fix its permissions, or run with --cache on a "
                            "writable folder",
                            store.root()));
  d.with_note("every stage finished before it is kept in the cache; the next `whittle run` resumes here");
  return d;
}

}  // namespace

ExecResult execute(const Plan& plan, ArtifactStore& store, StageRunner& runner, Progress& progress, int only) {
  ExecResult result;
  std::map<int, std::string> entries;
  // Held until the run ends: `cache gc` leaves alone a cache that a run is using.
  const ArtifactStore::Lock in_use = store.use_lock(false);
  for (const PlanStep& step : plan.steps) {
    const lang::StageInstance& s = plan.stage(step.stage);
    if (only >= 0 && step.stage != only) {
      // One stage alone: the others are only the entries it may read.
      if (store.has(step.key)) entries[s.id] = store.entry_dir(step.key);
      continue;
    }
    if (only >= 0)
      for (const auto& [kind, from] : plan.graph.inputs(s.id))
        if (!entries.count(from)) {
          result.diags.add(lang::Diagnostic::make("R0003", s.name_span,
                                                  fmt::format("stage #{} {} cannot run alone: its input #{} {} is not in the cache", s.id,
                                                              s.kind, from, plan.stage(from).kind),
                                                  "input missing")
                               .with_help("run the whole recipe (`whittle run`), or the input's stage first"));
          result.outcomes.push_back({s.id, "failed", 0, {}, {}});
          result.ok = false;
          return result;
        }
    std::string reason = step.reason;
    const bool present = store.has(step.key);
    bool cached = cached_entry_sound(store, step.key, s, result.diags);
    if (present && !cached) reason = "its cache entry was corrupt";
    const auto t0 = std::chrono::steady_clock::now();
    if (!cached) {
      std::string tmp;
      try {
        auto lock = store.lock(step.key, [&] {
          progress.message(fmt::format("waiting: another whittle run is computing #{} {} (the same cache entry)", s.id, s.kind));
        });
        if (store.has(step.key)) {  // the other run finished it while we waited
          cached = true;
        } else {
          progress.stage_started(s, reason);
          tmp = store.make_temp_dir(step.key);
          StageJob job{plan, s, step.key, tmp, store.partial_dir(step.key), entries, {}, progress};
          runner.run(job);
          Manifest m;
          m.key = step.key;
          m.kind = s.kind;
          const lang::SourceFile& f = plan.analysis->sources.file(s.span.file);
          m.label = fmt::format("#{} {} at {}:{}", s.id, s.kind, f.name(), f.line_of(s.span.begin));
          m.metrics = job.metrics;
          m.device = job.device;
          m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          m.whittle_version = WHITTLE_VERSION;
          store.commit(tmp, m);
          store.drop_partial(step.key);
        }
      } catch (const std::exception& e) {
        if (!tmp.empty()) remove_tree(tmp);
        result.diags.add(failure(s, e, store));
        result.outcomes.push_back({s.id, "failed", 0, {}, {}});
        result.ok = false;
        progress.stage_finished(s, false, 0);
        return result;
      }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto m = store.manifest(step.key);
    entries[s.id] = store.entry_dir(step.key);
    StageOutcome o{s.id, cached ? "cached" : "ran", cached && m ? m->seconds : secs, m ? m->metrics : std::map<std::string, double>{},
                   m ? m->device : ""};
    if (!cached) progress.stage_finished(s, true, secs);
    result.outcomes.push_back(std::move(o));
  }
  return result;
}

bool cached_entry_sound(ArtifactStore& store, const std::string& key, const lang::StageInstance& s, lang::Diagnostics& diags) {
  if (!store.has(key)) return false;
  std::string why;
  if (store.verify(key, why)) return true;
  diags.add(lang::Diagnostic::make("R0004", s.name_span, fmt::format("the cache entry of #{} {} is corrupt: {}; recomputing it", s.id, s.kind, why),
                                   "recomputed")
                .with_note("entry " + store.entry_dir(key)));
  store.quarantine(key);
  return false;
}

}  // namespace whittle::runtime
