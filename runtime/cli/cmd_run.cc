// `whittle run` and `run-stage`: thin glue over runtime/ (the executors and the run record).
#include <fmt/format.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <thread>

#include "lang/graph.h"
#include "lang/render.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/common.h"
#include "runtime/cli/recipes.h"
#include "runtime/exec/executor.h"
#include "runtime/exec/run_finish.h"
#include "runtime/exec/search_run.h"
#include "runtime/exec/slurm.h"
#include "runtime/plan/plan.h"
#include "runtime/report/report.h"
#include "runtime/system/clock.h"
#include "runtime/torch/api.h"

namespace whittle::cli {
namespace fs = std::filesystem;
using runtime::ArtifactStore;

namespace {

/// Draws progress: a live line on a terminal, one line per epoch otherwise.
class CliProgress : public runtime::Progress {
 public:
  explicit CliProgress(const runtime::Plan& p) : plan_(p), tty_(::isatty(2)) {}
  void stage_started(const lang::StageInstance& s, const std::string& reason) override {
    current_ = fmt::format("#{} {}", s.id, s.kind);
    last_epoch_ = 0;
    std::fprintf(stderr, "%s%s: running (%s)\n", tty_ ? "\r\033[K" : "", stage_name(plan_, s.id).c_str(),
                 reason.c_str());
  }
  void step(int epoch, int epochs, int batch, int batches, double loss, double acc, double secs) override {
    const double done = (epoch - 1) + static_cast<double>(batch) / batches;
    const double eta = done > 0 ? secs / done * (epochs - done) : 0;
    if (tty_) {
      const auto now = std::chrono::steady_clock::now();
      if (batch != batches && now - last_draw_ < std::chrono::milliseconds(100)) return;
      last_draw_ = now;
      std::fprintf(stderr, "\r\033[K  %s  epoch %d/%d  batch %d/%d  loss %.4f  acc %.1f%%  ETA %d:%02d",
                   current_.c_str(), epoch, epochs, batch, batches, loss, 100 * acc, static_cast<int>(eta) / 60,
                   static_cast<int>(eta) % 60);
      if (batch == batches) std::fputc('\n', stderr);
    } else if (batch == batches && epoch != last_epoch_) {
      last_epoch_ = epoch;
      std::fprintf(stderr, "  %s  epoch %d/%d  loss %.4f  acc %.1f%%  %.1fs\n", current_.c_str(), epoch, epochs, loss,
                   100 * acc, secs);
    }
  }
  void stage_finished(const lang::StageInstance& s, bool ran, double secs) override {
    if (ran) std::fprintf(stderr, "%s  #%d %s done in %.1fs\n", tty_ ? "\r\033[K" : "", s.id, s.kind.c_str(), secs);
  }
  void message(const std::string& text) override {
    std::fprintf(stderr, "%s%s\n", tty_ ? "\r\033[K" : "", text.c_str());
  }

 private:
  const runtime::Plan& plan_;
  bool tty_;
  std::string current_;
  int last_epoch_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

/// `--threads N`: from 1 to four per core (more only slows training down, and thousands of threads
/// can stall a machine).
CLI::Validator threads_check() {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int most = std::min(1024, 4 * cores);
  return CLI::Validator(
      [cores, most](std::string& v) -> std::string {
        int n = 0;
        std::size_t used = 0;
        try {
          n = std::stoi(v, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == v.size() && n >= 1 && n <= most) return "";
        return fmt::format(
            "`{}` is not a thread count: give a number from 1 to {} (this machine has {} cores; leave --threads out to "
            "use "
            "them all)",
            v, most, cores);
      },
      "1..4 per core");
}

/// `--executor slurm` and its sbatch options.
struct ExecutorOptions {
  std::string executor = "local";
  runtime::SlurmOptions slurm;
};

/// `--jobs N`: a search's candidates N at once, each a `run-stage` process with its share of the threads.
runtime::Parallel parallel(const RecipeOptions& o, const ArtifactStore& store, int threads, int jobs) {
  runtime::Parallel par;
  par.jobs = jobs;
  std::error_code ec;
  par.whittle = fs::read_symlink("/proc/self/exe", ec).string();
  par.recipe = fs::absolute(o.file).string();
  par.cache = fs::absolute(store.root()).string();
  par.sets = o.sets;
  par.threads = std::max(1, threads / std::max(1, jobs));
  return par;
}

int run_recipe(const RecipeOptions& o, int threads, const std::string& format, bool dry_run, const ExecutorOptions& ex,
               int jobs) {
  std::unique_ptr<ArtifactStore> store;
  auto plan = load_plan(o, store);
  if (!plan) return 1;
  if (dry_run) {
    const std::size_t w = runtime::stage_name_width(*plan, 36);
    for (const auto& step : plan->steps)
      fmt::print("{:<{}} {}\n", stage_name(*plan, step.stage), w, step.fresh ? "cached" : "would run: " + step.reason);
    if (runtime::has_search(*plan))
      fmt::print(
          "a search's candidates run only when its strategy needs them: `whittle plan` lists them and the most "
          "trainings\n");
    return 0;
  }
  // A search orders its candidates by their previewed objectives: the static preview, before anything runs.
  if (runtime::has_search(*plan)) runtime::fill_search_objectives(*plan, runtime::torch_api().preview_plan(*plan));
  const bool slurm = ex.executor == "slurm";
  if (threads <= 0) threads = slurm ? 1 : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  CliProgress progress(*plan);
  const std::string started = runtime::now_iso();
  runtime::ExecResult result;
  if (slurm) {
    runtime::SlurmOptions so = ex.slurm;
    std::error_code ec;
    so.whittle = fs::read_symlink("/proc/self/exe", ec).string();
    so.recipe = fs::absolute(o.file).string();
    so.sets = o.sets;
    so.threads = threads;
    so.jobs = jobs;
    result = runtime::execute_slurm(*plan, *store, so, progress);
  } else {
    const runtime::Parallel par = parallel(o, *store, threads, jobs);
    auto runner = runtime::lazy_torch_runner(threads);
    result = runtime::execute(*plan, *store, *runner, progress, -1, false, jobs > 1 ? &par : nullptr);
  }
  const lang::Analysis& a = *plan->analysis;
  for (const auto& d : result.diags.all()) std::fputs((lang::render_full(d, a.sources) + "\n").c_str(), stderr);
  const runtime::FinishedRun done = runtime::finish_run(*plan, *store, result, {started, threads, slurm});
  for (const auto& w : done.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  for (const auto& e : done.errors) std::fprintf(stderr, "error: %s\n", e.c_str());
  if (format != "json")
    for (const auto& d : done.delivered) std::fprintf(stderr, "exported %s\n", d.c_str());
  if (format == "json") {
    // The run record, and each finished search's decision (every candidate's status and figures).
    auto j = nlohmann::json::parse(runtime::record_json(done.record));
    j["searches"] = runtime::search_decisions(*plan, *store);
    std::fputs((j.dump(1) + "\n").c_str(), stdout);
  } else {
    std::fputs(runtime::run_table(*plan, done.record, *store).c_str(), stdout);
    std::fputs(runtime::search_tables(*plan, *store).c_str(), stdout);
  }
  return result.ok && done.ok() ? 0 : 1;
}

}  // namespace

/// `whittle run-stage`: one stage of a recipe, found by its key, its inputs already in the cache.
int run_stage(const RecipeOptions& o, const std::string& key, int threads, bool with_inputs, int jobs) {
  std::unique_ptr<ArtifactStore> store;
  auto plan = load_plan(o, store);
  if (!plan) return 1;
  int id = -1;
  for (const auto& step : plan->steps)
    if (step.key == key) id = step.stage;
  if (id < 0) {
    std::fprintf(stderr,
                 "error: no stage of %s has the key %s: the recipe, a file it uses or a --set value changed since "
                 "this stage was submitted\n  help: run the recipe again (`whittle run`)\n",
                 o.file.c_str(), key.c_str());
    return 1;
  }
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // A search's job (Slurm) trains the candidates its strategy needs, in the order of their previews.
  if (plan->stage(id).search) runtime::fill_search_objectives(*plan, runtime::torch_api().preview_plan(*plan));
  auto runner = runtime::lazy_torch_runner(threads);
  CliProgress progress(*plan);
  const runtime::Parallel par = parallel(o, *store, threads, jobs);
  auto result = runtime::execute(*plan, *store, *runner, progress, id, with_inputs, jobs > 1 ? &par : nullptr);
  for (const auto& d : result.diags.all())
    std::fputs((lang::render_full(d, plan->analysis->sources) + "\n").c_str(), stderr);
  for (const auto& out : result.outcomes)
    std::fprintf(stderr, "%s: %s in %.1fs\n", stage_name(*plan, out.stage).c_str(), out.status.c_str(), out.seconds);
  return result.ok ? 0 : 1;
}

void add_run(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<RecipeOptions>();
  auto threads = std::make_shared<int>(0);
  auto format = std::make_shared<std::string>("text");
  auto dry = std::make_shared<bool>(false);
  CLI::App* c = app.add_subcommand("run", "Run a recipe; stages already in the cache are not run again");
  add_recipe_options(c, *o);
  c->add_option("--threads", *threads, "Intra-op threads (default: all cores)")->check(threads_check());
  add_format(c, *format, "the run record");
  c->add_flag("--dry-run", *dry, "Say what would run, and why, without running anything");
  auto jobs = std::make_shared<int>(1);
  c->add_option("--jobs,-j", *jobs,
                "A search's candidates trained side by side, each a process with its share of --threads (default 1)")
      ->check(CLI::Range(1, 256));
  auto ex = std::make_shared<ExecutorOptions>();
  c->add_option("--executor", ex->executor, "local (default), or slurm: every stage not cached becomes an sbatch job")
      ->check(CLI::IsMember({"local", "slurm"}));
  c->add_option("--partition", ex->slurm.partition, "Slurm: the partition");
  c->add_option("--gres", ex->slurm.gres, "Slurm: generic resources per job, e.g. gpu:1");
  c->add_option("--time", ex->slurm.time, "Slurm: the time limit per job, e.g. 04:00:00");
  c->add_option("--account", ex->slurm.account, "Slurm: the account to charge");
  c->add_option("--sbatch", ex->slurm.sbatch_args,
                "Slurm: one more sbatch option, as given (repeatable), e.g. --sbatch=--qos=long");
  c->add_option("--poll", ex->slurm.poll_seconds, "Slurm: seconds between looks at the queue (default 2)");
  c->callback([o, threads, format, dry, ex, jobs, &exit_code] {
    if (ex->executor != "slurm" &&
        (!ex->slurm.partition.empty() || !ex->slurm.gres.empty() || !ex->slurm.time.empty() ||
         !ex->slurm.account.empty() || !ex->slurm.sbatch_args.empty())) {
      std::fprintf(stderr, "error: --partition, --gres, --time, --account and --sbatch are for `--executor slurm`\n");
      exit_code = 2;
      return;
    }
    exit_code = run_recipe(*o, *threads, *format, *dry, *ex, *jobs);
  });

  auto so = std::make_shared<RecipeOptions>();
  auto skey = std::make_shared<std::string>();
  auto sthreads = std::make_shared<int>(0);
  CLI::App* rs = app.add_subcommand(
      "run-stage", "Run one stage of a recipe, by its key, its inputs in the cache (what a Slurm job runs)");
  add_recipe_options(rs, *so);
  rs->add_option("--key", *skey, "The stage's cache key (`whittle plan --format json`)")->required();
  rs->add_option("--threads", *sthreads, "Intra-op threads (default: all cores)")->check(threads_check());
  auto inputs = std::make_shared<bool>(false);
  rs->add_flag("--with-inputs", *inputs,
               "Also run the stages it reads that are not cached (what a search's candidate process does)");
  auto sjobs = std::make_shared<int>(1);
  rs->add_option("--jobs,-j", *sjobs,
                 "A search's candidates not yet cached trained side by side (what a Slurm search's job is given)")
      ->check(CLI::Range(1, 256));
  rs->callback([so, skey, sthreads, inputs, sjobs, &exit_code] {
    exit_code = run_stage(*so, *skey, *sthreads, *inputs, *sjobs);
  });
}

}  // namespace whittle::cli
