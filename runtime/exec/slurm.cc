// The Slurm executor (slurm.h).
#include "runtime/exec/slurm.h"

#include "runtime/exec/search_run.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "runtime/system/shell.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

struct Job {
  int stage = 0;
  std::string key, id, state = "SUBMITTED", reason, exit_code;
  fs::path log;
  bool done() const {
    static const std::set<std::string> terminal = {"COMPLETED", "FAILED",        "CANCELLED", "TIMEOUT",  "NODE_FAIL",
                                                   "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "GONE"};
    return terminal.count(state) > 0;
  }
};

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  return s;
}

/// `FIELD=value` out of `scontrol show job ID --oneliner`.
std::string field(const std::string& line, const std::string& name) {
  const std::string k = " " + name + "=";
  auto at = (" " + line).find(k);
  if (at == std::string::npos) return "";
  at += k.size() - 1;
  return line.substr(at, line.find(' ', at) - at);
}

/// The last `n` lines of a job's output file.
std::string tail(const fs::path& file, std::size_t n) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string out;
  for (std::size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) out += "    " + lines[i] + "\n";
  return out;
}

std::string recipe_line(const Plan& plan, const lang::StageInstance& s) {
  const lang::SourceFile& f = plan.analysis->sources.file(s.span.file);
  return fmt::format("{}:{}", f.name(), f.line_of(s.span.begin));
}

}  // namespace

ExecResult execute_slurm(const Plan& plan, ArtifactStore& store, const SlurmOptions& o, Progress& progress) {
  ExecResult result;
  const ArtifactStore::Lock in_use = store.use_lock(false);  // `cache gc` waits for the jobs too
  const fs::path logs = fs::absolute(fs::path(store.root()) / "slurm");
  fs::create_directories(logs);
  std::map<int, Job> jobs;  // by stage
  auto fail = [&](const lang::StageInstance& s, const std::string& what, const std::string& note = "") {
    auto d = lang::Diagnostic::make("R0005", s.name_span, what, "this stage's job");
    if (!note.empty()) d.with_note(note);
    result.diags.add(std::move(d));
    result.ok = false;
  };
  auto cancel_all = [&] {
    std::string ids;
    for (const auto& [stage, j] : jobs)
      if (!j.done()) ids += " " + j.id;
    if (!ids.empty()) run_command("scancel" + ids + " 2>&1");
  };

  bool anything = false;
  for (const PlanStep& step : plan.steps) anything = anything || !step.fresh;
  if (anything && run_command("command -v sbatch squeue scontrol > /dev/null 2>&1").code != 0) {
    auto d = lang::Diagnostic::make("R0005", plan.stage(plan.steps.front().stage).name_span,
                                    "Slurm's commands (sbatch, squeue, scontrol) are not on this machine's PATH",
                                    "nothing was submitted");
    d.with_help("run on a login node of the cluster, or without `--executor slurm`");
    result.diags.add(std::move(d));
    result.ok = false;
    return result;
  }

  // One job: `whittle run-stage` of stage `s` (with `args`), after the jobs `after`; false when
  // sbatch refused it (reported, and every job of this run cancelled).
  auto submit = [&](const lang::StageInstance& s, const std::string& key, const std::vector<std::string>& after,
                    const std::string& args, const std::string& what) {
    Job j;
    j.stage = s.id;
    j.key = key;
    std::string work = shell_quote(o.whittle) + " run-stage " + shell_quote(o.recipe) + " --key " + key + " --cache " +
                       shell_quote(fs::absolute(store.root()).string()) + " --threads " + std::to_string(o.threads) +
                       args;
    for (const auto& set : o.sets) work += " --set " + shell_quote(set);
    std::string cmd = "sbatch --parsable --kill-on-invalid-dep=yes";
    cmd += " --job-name=" + shell_quote(fmt::format("whittle:{}:#{}", plan.analysis->recipe.name, s.id));
    cmd += " --output=" + shell_quote((logs / fmt::format("{}-{}-%j.out", plan.analysis->recipe.name, s.id)).string());
    cmd += " --cpus-per-task=" + std::to_string(o.threads);
    if (!o.partition.empty()) cmd += " --partition=" + shell_quote(o.partition);
    if (!o.gres.empty()) cmd += " --gres=" + shell_quote(o.gres);
    if (!o.time.empty()) cmd += " --time=" + shell_quote(o.time);
    if (!o.account.empty()) cmd += " --account=" + shell_quote(o.account);
    for (const auto& a : o.sbatch_args) cmd += " " + shell_quote(a);
    if (!after.empty()) {
      std::string dep = "afterok";
      for (const auto& id : after) dep += ":" + id;
      cmd += " --dependency=" + dep;
    }
    cmd += " --wrap=" + shell_quote(work) + " 2>&1";
    const CommandResult r = run_command(cmd);
    j.id = trim(r.out.substr(0, r.out.find(';')));
    if (r.code != 0 || j.id.empty() || j.id.find_first_not_of("0123456789") != std::string::npos) {
      fail(s, fmt::format("`sbatch` refused the job of #{} {}: {}", s.id, s.kind, trim(r.out)),
           "nothing of this run is left queued: the jobs already submitted were cancelled");
      cancel_all();
      return false;
    }
    j.log = logs / fmt::format("{}-{}-{}.out", plan.analysis->recipe.name, s.id, j.id);
    progress.message(fmt::format(
        "{}: Slurm job {}{}", what, j.id,
        after.empty() ? "" : fmt::format(" (after job{} {})", after.size() > 1 ? "s" : "", fmt::join(after, ", "))));
    jobs[s.id] = std::move(j);
    return true;
  };

  // Follows every job to its end: squeue while they are queued or running, scontrol once squeue
  // forgets them.
  const auto t0 = std::chrono::steady_clock::now();
  auto follow = [&] {
    for (bool first = true;; first = false) {
      bool open = false;
      for (const auto& [stage, j] : jobs) open = open || !j.done();
      if (!open) break;
      if (!first) std::this_thread::sleep_for(std::chrono::duration<double>(o.poll_seconds));
      std::string ids;
      for (const auto& [stage, j] : jobs)
        if (!j.done()) ids += (ids.empty() ? "" : ",") + j.id;
      std::map<std::string, std::pair<std::string, std::string>> queued;  // id → (state, reason)
      std::istringstream q(run_command("squeue --noheader --format='%i|%T|%r' --jobs=" + ids + " 2>/dev/null").out);
      for (std::string line; std::getline(q, line);) {
        const auto a = line.find('|'), b = line.find('|', a == std::string::npos ? a : a + 1);
        if (b != std::string::npos)
          queued[trim(line.substr(0, a))] = {trim(line.substr(a + 1, b - a - 1)), trim(line.substr(b + 1))};
      }
      for (auto& [stage, j] : jobs) {
        if (j.done()) continue;
        std::string state = queued.count(j.id) ? queued.at(j.id).first : "";
        if (!state.empty()) j.reason = queued.at(j.id).second;  // why it waits: Resources, Priority, Dependency...
        const bool finished_in_squeue =
            state == "COMPLETED" || state == "FAILED" || state == "CANCELLED" || state == "TIMEOUT";
        if (state.empty() || finished_in_squeue) {
          const std::string line = run_command("scontrol show job " + j.id + " --oneliner 2>/dev/null").out;
          state = field(line, "JobState");
          j.reason = field(line, "Reason");
          j.exit_code = field(line, "ExitCode");
          if (state.empty()) state = store.has(j.key) ? "COMPLETED" : "GONE";  // purged from the controller
        }
        if (state != j.state) {
          const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          progress.message(fmt::format("#{} {} (job {}): {}{} [{:.0f}s]", stage, plan.stage(stage).kind, j.id, state,
                                       j.reason.empty() || j.reason == "None" ? "" : " (" + j.reason + ")", secs));
          j.state = state;
        }
      }
    }
  };
  auto all_completed = [&] {
    for (const auto& [stage, j] : jobs)
      if (j.state != "COMPLETED" || !store.has(j.key)) return false;
    return true;
  };

  // Submit, in the plan's order, every stage that is not cached (a corrupt entry is recomputed). A
  // search is decided here: once the jobs before it are done, its strategy's candidates are jobs of
  // their own (`run-stage --with-inputs` of each candidate's evaluate), up to --jobs at a time, round
  // after round; then the search's job, which finds them cached, writes the decision.
  const std::set<int> deferred = search_candidate_stages(plan);
  for (const PlanStep& step : plan.steps) {
    const lang::StageInstance& s = plan.stage(step.stage);
    if (deferred.count(s.id) || cached_entry_sound(store, step.key, s, result.diags)) continue;
    std::vector<std::string> after;
    for (const auto& [kind, from] : plan.graph.inputs(s.id))
      if (jobs.count(from)) after.push_back(jobs.at(from).id);
    if (s.search) {
      follow();
      if (!all_completed()) break;  // a stage before it failed: reported below
      after.clear();
      const TrainCandidates train =
          [&](const std::vector<int>& ids) -> std::optional<std::vector<std::vector<Metrics>>> {
        for (int c : ids)
          for (const auto& r : s.search->candidates[static_cast<std::size_t>(c)].runs) {
            const std::string& key = plan.keys[static_cast<std::size_t>(r.evaluate)];
            if (store.has(key)) continue;
            const std::string what =
                fmt::format("#{} search candidate {} ({})", s.id, c, s.search->label(static_cast<std::size_t>(c)));
            if (!submit(plan.stage(r.evaluate), key, {}, " --with-inputs", what)) return std::nullopt;
          }
        follow();
        std::vector<std::vector<Metrics>> out;
        for (int c : ids) {
          out.emplace_back();
          for (const auto& r : s.search->candidates[static_cast<std::size_t>(c)].runs) {
            const std::string& key = plan.keys[static_cast<std::size_t>(r.evaluate)];
            auto m = store.manifest(key);
            if (!m) return std::nullopt;  // its job failed: reported below
            out.back().push_back(m->metrics);
          }
        }
        return out;
      };
      try {
        if (!decide_search(plan, s, train, progress, o.jobs)) break;  // a candidate's job failed
      } catch (const std::exception&) {
        // No candidate passed (or none could be previewed): the search's job says so at its line.
      }
    }
    const std::string args = s.search && o.jobs > 1 ? " --jobs " + std::to_string(o.jobs) : "";
    if (!submit(s, step.key, after, args, fmt::format("#{} {}", s.id, s.kind))) return result;
  }
  follow();

  // The outcomes, as a local run gives them: read from the cache.
  for (const PlanStep& step : plan.steps) {
    const lang::StageInstance& s = plan.stage(step.stage);
    auto it = jobs.find(s.id);
    const bool have = store.has(step.key);
    if (it == jobs.end() || (it->second.state == "COMPLETED" && have)) {
      if (!have && deferred.count(s.id))
        result.outcomes.push_back({s.id, "skipped", 0, {}, {}});  // not needed by its search
      if (!have) continue;
      auto m = store.manifest(step.key);
      StageOutcome out{s.id, it == jobs.end() ? "cached" : "ran", m ? m->seconds : 0,
                       m ? m->metrics : std::map<std::string, double>{}, m ? m->device : ""};
      if (it != jobs.end()) out.metrics["slurm_job"] = std::stod(it->second.id);
      result.outcomes.push_back(std::move(out));
      continue;
    }
    const Job& j = it->second;
    if (j.state == "CANCELLED" && j.reason == "DependencyNeverSatisfied") {
      result.outcomes.push_back({s.id, "cancelled", 0, {}, {}});  // Slurm's doing: a stage it reads failed
      continue;
    }
    result.outcomes.push_back({s.id, "failed", 0, {}, {}});
    fail(s,
         fmt::format("stage #{} {} at {} failed in Slurm job {} ({}{})", s.id, s.kind, recipe_line(plan, s), j.id,
                     j.state, j.exit_code.empty() ? "" : ", exit code " + j.exit_code),
         fmt::format("the job's output, {}:\n{}", j.log.string(), tail(j.log, 15)));
  }
  return result;
}

}  // namespace whittle::runtime
