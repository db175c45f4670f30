// `whittle submit RECIPE -o FILE` and `whittle verify FILE`: glue over runtime/submit/submission.h, which
// packs a recipe's last run into one archive and recomputes every claim of one.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "runtime/cli/commands.h"
#include "runtime/cli/recipes.h"
#include "runtime/exec/executor.h"
#include "runtime/plan/metrics.h"
#include "runtime/submit/submission.h"
#include "runtime/system/atomic_file.h"

namespace whittle::cli {
namespace fs = std::filesystem;

namespace {

int fail(const runtime::SubmissionError& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  if (!e.help.empty()) std::fprintf(stderr, "  help: %s\n", e.help.c_str());
  return 1;
}

int submit(const RecipeOptions& o, std::string out, const std::string& model) {
  auto run = load_run(o);
  if (!run) return 1;
  runtime::Submission s;
  try {
    s = runtime::make_submission(std::move(*run), o.file, o.sets, model);
  } catch (const runtime::SubmissionError& e) {
    return fail(e);
  }
  if (!s.report_note.empty()) std::fprintf(stderr, "note: %s\n", s.report_note.c_str());
  if (out.empty()) out = s.recipe + ".submission.tar.gz";
  std::string error;
  if (!runtime::write_submission(out, s.recipe, s.files, error)) {
    std::fprintf(stderr, "error: cannot write %s: %s\n", out.c_str(), error.c_str());
    return 1;
  }
  std::printf("%s: %zu files (recipe, run record, model of %s, claims, report)\n", out.c_str(), s.files.size(),
              s.model_name.c_str());
  for (const auto& [key, value] : s.claims)
    fmt::print("  {:<22} {}{}\n", runtime::metric_def(key).label, value,
               key == runtime::score_key(s.score_preset) ? "  (the recipe's preset)" : "");
  return 0;
}

/// The verify of a submission whose network is scripted (code): again, inside a sandbox.
int verify_sandboxed(const runtime::Plan& plan, const std::string& file, const std::string& data, int seconds) {
  std::string why;
  if (!runtime::sandbox_available(why)) {
    std::fprintf(stderr,
                 "error: %s is not verified: its recipe scripts its network in PyTorch, and running that code needs a "
                 "sandbox: %s\n"
                 "  help: install bubblewrap and verify again; nothing of the submission was run\n",
                 file.c_str(), why.c_str());
    return 2;
  }
  std::fprintf(
      stderr,
      "note: its recipe scripts its network in PyTorch (code): verifying it in a sandbox (bubblewrap: no network, "
      "nothing of this machine but its programs and the test data, %d s, 8 GiB)\n",
      seconds);
  std::fflush(stdout);
  std::fflush(stderr);
  const runtime::SandboxResult r = runtime::verify_in_sandbox(plan, file, data, seconds);
  if (r.timed_out) {
    std::fprintf(stderr, "error: %s is rejected: its code ran past the %d s limit and was killed\n", file.c_str(),
                 seconds);
    return 1;
  }
  if (r.signal) {
    std::fprintf(stderr, "error: %s is rejected: its code was killed by signal %d (past the memory or CPU limit?)\n",
                 file.c_str(), r.signal);
    return 1;
  }
  // The sandbox saw the archive as /submission/submission.tar.gz: its verdict, for this file.
  if (r.exit_code == 0) std::printf("%s: verified in a sandbox: every claim holds\n", file.c_str());
  return r.exit_code;
}

int verify(const std::string& file, const std::string& data, bool in_sandbox, int seconds) {
  auto reject = [&](const std::string& why) {
    std::fprintf(stderr, "error: %s is rejected: %s\n", file.c_str(), why.c_str());
    return 1;
  };
  auto local_fault = [&](const std::string& why) {
    std::fprintf(
        stderr,
        "error: cannot verify %s on this machine: %s\n  help: the submission was not judged; free space in the "
        "temporary folder, or point TMPDIR at a writable folder with room, and verify again\n",
        file.c_str(), why.c_str());
    return 2;
  };
  try {
    const runtime::OpenedSubmission s = runtime::open_submission(file);
    std::optional<runtime::TempDir> tmp;  // removed on every way out, an exception's included
    std::string recipe;
    try {
      tmp.emplace();
      recipe = runtime::unpack_submission(s, tmp->path / "s");
    } catch (const runtime::LocalError& e) {
      return local_fault(e.what());
    } catch (const runtime::WriteError& e) {
      return local_fault(e.what());
    } catch (const fs::filesystem_error& e) {
      return local_fault(e.what());
    }
    const fs::path root = tmp->path / "s";
    RecipeOptions o{recipe, s.sets, (tmp->path / "cache").string(), (root / "recipe").string(), s.score_preset};
    std::unique_ptr<runtime::ArtifactStore> store;
    auto plan = load_plan(o, store, data);
    if (!plan)
      return reject(
          "its recipe cannot be planned here (see above; `--data DIR` says where this machine keeps the data)");
    if (runtime::scripted_model(*plan) && !in_sandbox) return verify_sandboxed(*plan, file, data, seconds);
    const runtime::Verification v = runtime::verify_submission(*plan, s, root, tmp->path, in_sandbox);
    std::printf("%-4s %-33s %-22s %s\n", "", "", "claimed", "recomputed");
    for (const auto& r : v.rows)
      std::printf("%-4s %-33s %-22s %s\n", r.ok ? "ok" : "FAIL", r.what.c_str(), r.claimed.c_str(), r.found.c_str());
    if (!v.complete) return 1;  // not the recipe's model: nothing more to recompute
    std::printf("%s: %s\n", file.c_str(),
                v.ok() ? "verified: every claim holds" : "NOT verified: the claims marked FAIL do not hold");
    // The course's bar is a ranking's business, not a claim's: said, not failed.
    if (const double acc = s.claims.count("accuracy") ? s.claims.at("accuracy") : 1.0;
        acc < runtime::kCourseAccuracyBar)
      std::printf("note: its test accuracy, %.2f%%, is below the course's %.0f%% bar\n", 100 * acc,
                  100 * runtime::kCourseAccuracyBar);
    return v.ok() ? 0 : 1;
  } catch (const runtime::StageError& e) {
    std::fprintf(stderr, "error: cannot recompute the claims: %s\n%s", e.what(),
                 e.help.empty() ? "" : ("  help: " + e.help + "\n").c_str());
    return 1;
  } catch (const runtime::SubmissionError& e) {
    reject(e.what());
    if (!e.help.empty()) std::fprintf(stderr, "  help: %s\n", e.help.c_str());
    return 1;
  } catch (const std::exception& e) {
    return reject(e.what());
  }
}

}  // namespace

void add_submit(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<RecipeOptions>();
  auto out = std::make_shared<std::string>();
  CLI::App* s = app.add_subcommand("submit", "Pack a recipe's last run into one archive a grader can verify");
  add_recipe_options(s, *o);
  s->add_option("-o,--output", *out, "The archive to write (default: NAME.submission.tar.gz)");
  auto model = std::make_shared<std::string>();
  s->add_option("--model", *model,
                "The model to submit: the stage named `as NAME` (default: the model the recipe's last stage holds)");
  s->callback([o, out, model, &exit_code] { exit_code = submit(*o, *out, *model); });

  auto file = std::make_shared<std::string>();
  auto data = std::make_shared<std::string>();
  CLI::App* v =
      app.add_subcommand("verify", "Check a submission: recompute every claim from its model and the test set");
  v->add_option("file", *file, "The archive from `whittle submit`")->required();
  v->add_option("--data", *data,
                "Where this machine keeps the data, if not where the recipe says (like $WHITTLE_DATA: "
                "a folder holding cifar-10-batches-bin/, or the files themselves)");
  auto in_sandbox = std::make_shared<bool>(false);
  auto seconds = std::make_shared<int>(600);
  v->add_option("--time-limit", *seconds,
                "Seconds a submission's own code (a network scripted in PyTorch) may run, in its sandbox")
      ->check(CLI::Range(1, 86400));
  // The sandbox's own call of verify (verify_sandboxed): the one place a scripted network is evaluated.
  v->add_flag("--in-sandbox", *in_sandbox)->group("");
  v->callback(
      [file, data, in_sandbox, seconds, &exit_code] { exit_code = verify(*file, *data, *in_sandbox, *seconds); });
}

}  // namespace whittle::cli
