// The executor.
#include "runtime/exec/executor.h"

#include <fmt/format.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>

#include "runtime/exec/search_run.h"
#include "runtime/plan/stages.h"
#include "runtime/system/atomic_file.h"
#include "runtime/system/shell.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

/// The R0003 diagnostic of a stage that failed, at its recipe line, with what to do.
lang::Diagnostic failure(const lang::StageInstance& s, const std::exception& e, const ArtifactStore& store) {
  auto d = lang::Diagnostic::make("R0003", s.name_span, fmt::format("stage #{} {} failed: {}", s.id, s.kind, e.what()),
                                  "this stage failed");
  const auto* se = dynamic_cast<const StageError*>(&e);
  const auto* we = dynamic_cast<const WriteError*>(&e);
  if (se && !se->help.empty())
    d.with_help(se->help);
  else if (we && we->no_space())
    d.with_help(fmt::format(
        "free space where the cache is (`{}`): `whittle cache gc RECIPE` removes the entries no recipe needs, or "
        "run with --cache on a larger disk",
        store.root()));
  else if (we || dynamic_cast<const StoreError*>(&e) || dynamic_cast<const std::filesystem::filesystem_error*>(&e))
    d.with_help(fmt::format(
        "the cache `{}` must be writable to compute this stage: fix its permissions, or run with --cache on a "
        "writable folder",
        store.root()));
  d.with_note("every stage finished before it is kept in the cache; the next `whittle run` resumes here");
  return d;
}

/// One run of the plan's stages: each step found cached or computed, its entry recorded.
class Execution {
 public:
  Execution(const Plan& plan, ArtifactStore& store, StageRunner& runner, Progress& progress, ExecResult& result,
            const Parallel* parallel)
      : plan_(plan),
        store_(store),
        runner_(runner),
        progress_(progress),
        result_(result),
        parallel_(parallel),
        in_search_(search_candidate_stages(plan)) {}
  std::map<int, std::string> entries;

  /// Whether the stage belongs to a search's candidate: it runs only when the search asks for it.
  bool deferred(int stage) const { return in_search_.count(stage) > 0; }

  /// Finds the step's entry in the cache or computes it; false when it failed (reported).
  bool run(const PlanStep& step, const std::function<void(const std::string& tmp, Manifest& m)>& compute = {}) {
    const lang::StageInstance& s = plan_.stage(step.stage);
    if (entries.count(s.id)) return true;  // a stage two candidates share, run once
    std::string reason = step.reason;
    const bool present = store_.has(step.key);
    bool cached = cached_entry_sound(store_, step.key, s, result_.diags);
    if (present && !cached) reason = "its cache entry was corrupt";
    const auto t0 = std::chrono::steady_clock::now();
    if (!cached) {
      std::string tmp;
      try {
        auto lock = store_.lock(step.key, [&] {
          progress_.message(
              fmt::format("waiting: another whittle run is computing #{} {} (the same cache entry)", s.id, s.kind));
        });
        if (store_.has(step.key)) {  // the other run finished it while we waited
          cached = true;
        } else {
          progress_.stage_started(s, reason);
          tmp = store_.make_temp_dir(step.key);
          Manifest m;
          if (compute) {
            compute(tmp, m);
          } else {
            StageJob job{plan_, s, step.key, tmp, store_.partial_dir(step.key), entries, {}, progress_};
            runner_.run(job);
            m.metrics = job.metrics;
            m.device = job.device;
          }
          m.key = step.key;
          m.kind = s.kind;
          const lang::SourceFile& f = plan_.analysis->sources.file(s.span.file);
          m.label = fmt::format("#{} {} at {}:{}", s.id, s.kind, f.name(), f.line_of(s.span.begin));
          m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          m.whittle_version = WHITTLE_VERSION;
          store_.commit(tmp, m);
          store_.drop_partial(step.key);
        }
      } catch (const std::exception& e) {
        if (!tmp.empty()) remove_tree(tmp);
        result_.diags.add(failure(s, e, store_));
        result_.outcomes.push_back({s.id, "failed", 0, {}, {}});
        result_.ok = false;
        progress_.stage_finished(s, false, 0);
        return false;
      }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto m = store_.manifest(step.key);
    entries[s.id] = store_.entry_dir(step.key);
    if (s.search) plan_.search_choices[s.id] = chosen_model(s, entries[s.id]);
    StageOutcome o{s.id, cached ? "cached" : "ran", cached && m ? m->seconds : secs,
                   m ? m->metrics : std::map<std::string, double>{}, m ? m->device : ""};
    if (!cached) progress_.stage_finished(s, true, secs);
    result_.outcomes.push_back(std::move(o));
    return true;
  }

  /// A search: its entry found cached (run() checks it), or decided by training the candidates its strategy names.
  bool search(const PlanStep& step) {
    const lang::StageInstance& s = plan_.stage(step.stage);
    return run(step, [&](const std::string& tmp, Manifest& m) {
      const TrainCandidates train =
          [&](const std::vector<int>& ids) -> std::optional<std::vector<std::vector<Metrics>>> {
        if (parallel_ && parallel_->jobs > 1) {  // those not cached, side by side
          std::vector<int> apart;
          for (int c : ids)
            for (const auto& r : s.search->candidates[static_cast<std::size_t>(c)].runs)
              if (!store_.has(plan_.keys[static_cast<std::size_t>(r.evaluate)]) && (apart.empty() || apart.back() != c))
                apart.push_back(c);
          if (apart.size() > 1 && !train_apart(s, apart)) return std::nullopt;
        }
        std::vector<std::vector<Metrics>> out;
        for (int c : ids) {  // in order: what ran apart is found cached
          out.emplace_back();
          for (const auto& r : s.search->candidates[static_cast<std::size_t>(c)].runs) {
            for (const PlanStep& st : plan_.steps)
              if (st.stage >= r.begin && st.stage < r.end && !run(st)) return std::nullopt;
            auto em = store_.manifest(plan_.keys[static_cast<std::size_t>(r.evaluate)]);
            out.back().push_back(em ? em->metrics : Metrics{});
          }
        }
        return out;
      };
      auto decision = decide_search(plan_, s, train, progress_, parallel_ ? parallel_->jobs : 1);
      if (!decision) throw StageError("a candidate's stage failed (above)");
      const int chosen = decision->at("chosen").get<int>();
      const int model = s.search->candidates[static_cast<std::size_t>(chosen)].runs.front().model;
      // The chosen model's files: what the stages after the search read, as from any model stage.
      for (const auto& e : fs::directory_iterator(entries.at(model)))
        if (e.is_regular_file() && e.path().filename() != "manifest.yaml")
          fs::copy_file(e.path(), fs::path(tmp) / e.path().filename());
      write_file_atomic((fs::path(tmp) / kSearchFile).string(), decision->dump(1));
      if (auto cm = store_.manifest(plan_.keys[static_cast<std::size_t>(model)])) {
        m.metrics = cm->metrics;
        m.device = cm->device;
      }
      const auto& ev = s.search->candidates[static_cast<std::size_t>(chosen)].runs.front().evaluate;
      if (auto em = store_.manifest(plan_.keys[static_cast<std::size_t>(ev)]))
        for (const auto& [k, v] : em->metrics) m.metrics["search_" + k] = v;
      m.metrics["search_chosen"] = chosen;
      m.metrics["search_trainings"] = decision->at("trainings").get<double>();
      m.metrics["search_candidates"] = decision->at("candidates").get<double>();
    });
  }

 private:
  /// Candidates trained side by side, each in a `whittle run-stage --with-inputs` process per seed's
  /// evaluate (the store's locks keep two processes from computing one entry); false when one failed
  /// (reported at the search's line with the end of that process's output).
  bool train_apart(const lang::StageInstance& s, const std::vector<int>& ids) {
    struct Child {
      pid_t pid;
      int candidate;
      fs::path log;
    };
    std::vector<Child> children;
    const fs::path logs = fs::path(store_.root()) / "tmp";
    fs::create_directories(logs);
    for (int c : ids)
      for (const auto& r : s.search->candidates[static_cast<std::size_t>(c)].runs) {
        const std::string key = plan_.keys[static_cast<std::size_t>(r.evaluate)];
        const fs::path log = logs / fmt::format("search-{}-{}.log", ::getpid(), key.substr(0, 12));
        std::string cmd = shell_quote(parallel_->whittle) + " run-stage " + shell_quote(parallel_->recipe) +
                          " --with-inputs --key " + key + " --cache " + shell_quote(parallel_->cache) + " --threads " +
                          std::to_string(parallel_->threads);
        for (const auto& set : parallel_->sets) cmd += " --set " + shell_quote(set);
        cmd += " > " + shell_quote(log.string()) + " 2>&1";
        const pid_t pid = ::fork();
        if (pid == 0) {
          ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
          ::_exit(127);
        }
        if (pid < 0)
          throw StageError("could not start a process for a candidate (fork failed)", "run with fewer --jobs");
        progress_.message(
            fmt::format("  candidate {} ({}): process {}", c, s.search->label(static_cast<std::size_t>(c)), pid));
        children.push_back({pid, c, log});
      }
    bool ok = true;
    for (const Child& ch : children) {
      int status = 0;
      while (::waitpid(ch.pid, &status, 0) < 0 && errno == EINTR) {
      }
      std::ifstream in(ch.log);
      const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::error_code ec;
      fs::remove(ch.log, ec);
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
      ok = false;
      result_.diags.add(
          lang::Diagnostic::make("R0003", s.name_span,
                                 fmt::format("candidate {} ({}) failed in its process", ch.candidate,
                                             s.search->label(static_cast<std::size_t>(ch.candidate))),
                                 "this search's candidate")
              .with_note("its output ended with:\n" + out.substr(out.size() > 2000 ? out.size() - 2000 : 0))
              .with_help("every stage it finished is cached; the next `whittle run` resumes there"));
    }
    if (!ok) result_.ok = false;
    return ok;
  }

  const Plan& plan_;
  ArtifactStore& store_;
  StageRunner& runner_;
  Progress& progress_;
  ExecResult& result_;
  const Parallel* parallel_;
  std::set<int> in_search_;
};

}  // namespace

ExecResult execute(const Plan& plan, ArtifactStore& store, StageRunner& runner, Progress& progress, int only,
                   bool with_inputs, const Parallel* parallel) {
  ExecResult result;
  Execution exec(plan, store, runner, progress, result, parallel);
  // With `with_inputs`: the stages `only` reads, directly or not, run too (those not cached).
  std::set<int> needed;
  if (only >= 0 && with_inputs) {
    std::vector<int> todo{only};
    while (!todo.empty()) {
      const int id = todo.back();
      todo.pop_back();
      if (!needed.insert(id).second) continue;
      for (const auto& [kind, from] : plan.graph.inputs(id)) todo.push_back(from);
    }
  }
  // Held until the run ends: `cache gc` leaves alone a cache that a run is using.
  const ArtifactStore::Lock in_use = store.use_lock(false);
  for (const PlanStep& step : plan.steps) {
    const lang::StageInstance& s = plan.stage(step.stage);
    if (only >= 0 && step.stage != only && needed.count(step.stage)) {
      if (!(plan.stage(step.stage).search ? exec.search(step) : exec.run(step))) return result;
      continue;
    }
    if (only >= 0 && step.stage != only) {
      // One stage alone: the others are only the entries it may read.
      if (store.has(step.key)) {
        exec.entries[s.id] = store.entry_dir(step.key);
        if (s.search) plan.search_choices[s.id] = chosen_model(s, exec.entries[s.id]);
      }
      continue;
    }
    if (only >= 0)
      for (const auto& [kind, from] : plan.graph.inputs(s.id))
        if (!exec.entries.count(from) && !(s.search && exec.deferred(from))) {
          result.diags.add(
              lang::Diagnostic::make("R0003", s.name_span,
                                     fmt::format("stage #{} {} cannot run alone: its input #{} {} is not in the cache",
                                                 s.id, s.kind, from, plan.stage(from).kind),
                                     "input missing")
                  .with_help("run the whole recipe (`whittle run`), or the input's stage first"));
          result.outcomes.push_back({s.id, "failed", 0, {}, {}});
          result.ok = false;
          return result;
        }
    if (only < 0 && exec.deferred(s.id)) continue;  // a search's candidate: trained when the search asks for it
    if (!(s.search ? exec.search(step) : exec.run(step))) return result;
  }
  // The candidates' stages the searches did not need: skipped, as the run record says.
  if (only < 0)
    for (const PlanStep& step : plan.steps)
      if (exec.deferred(step.stage) && !exec.entries.count(step.stage))
        result.outcomes.push_back({step.stage, "skipped", 0, {}, {}});
  return result;
}

bool cached_entry_sound(ArtifactStore& store, const std::string& key, const lang::StageInstance& s,
                        lang::Diagnostics& diags) {
  if (!store.has(key)) return false;
  std::string why;
  if (store.verify(key, why)) return true;
  diags.add(
      lang::Diagnostic::make("R0004", s.name_span,
                             fmt::format("the cache entry of #{} {} is corrupt: {}; recomputing it", s.id, s.kind, why),
                             "recomputed")
          .with_note("entry " + store.entry_dir(key)));
  store.quarantine(key);
  return false;
}

}  // namespace whittle::runtime
