// Submissions: what `whittle submit` packs and what `whittle verify` checks, as a library; the CLI
// prints what these return. A submission holds the recipe and every file it uses, the run record,
// the final model, the claims made about it (runtime/plan/metrics.h: the metrics marked `claimed`), the
// report's tables and plots, and a SHA-256 manifest of all of them (the archive itself and its safe
// reading: runtime/submit/submission_archive.h). Verifying recomputes every claim from the model and the
// test set: checksums only catch careless damage; the recomputation is what catches a model or a
// claim that was changed and re-summed.
#pragma once
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/plan/plan.h"
#include "runtime/report/report.h"
#include "runtime/submit/submission_archive.h"
#include "runtime/system/sandbox.h"

namespace whittle::runtime {

/// The course's bar (docs/course.md): a model counts at this test accuracy or above.
constexpr double kCourseAccuracyBar = 0.90;
constexpr int kSubmissionFormat =
    3;  ///< 2: a score claim per preset, and the preset the recipe shows; 3: model.safetensors

/// Why a submission cannot be made, or why one is rejected; `help` says what to do.
struct SubmissionError : std::runtime_error {
  SubmissionError(const std::string& what, std::string help_text = {})
      : std::runtime_error(what), help(std::move(help_text)) {}
  std::string help;
};

/// A fault of this machine, not of a submission (a full or read-only temporary folder): verify
/// says so, and judges nothing.
struct LocalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A fresh private folder under the system's temporary folder, removed with the object. Throws
/// LocalError when none can be made.
struct TempDir {
  std::filesystem::path path;
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

struct Submission {
  SubmissionFiles files;
  std::string recipe;  ///< the recipe's name
  int model_stage = -1;
  std::string model_name;                              ///< stage_name() of the model submitted
  std::vector<std::pair<std::string, double>> claims;  ///< metric key → value, in metric_defs() order
  std::string score_preset;                            ///< the preset the recipe shows
  std::string report_note;                             ///< why the report has no plots, if it has none
};

/// The files of a submission of `run` (a recipe's last run, which must be of the recipe as it is
/// now), run from `recipe_file` with these `--set` values. The model packed is the stage named
/// `as model_name`, or with no name the model the recipe's last stage holds; its claimed accuracy is
/// the last `evaluate` of it on the test set, which must be the whole test set (no `test_subset`).
/// Throws SubmissionError.
Submission make_submission(Run run, const std::string& recipe_file, const std::vector<std::string>& sets,
                           const std::string& model_name = "");

/// How many test images the data a stage reads keeps (its `test_subset`); 0: the whole test set.
long long test_subset_of(const Plan& p, int stage);

/// A submission read, its manifest checked and its claims.json well-formed.
/// An export of the submitted model (ONNX or TorchScript) the submission holds, with what its run
/// measured of it: read back by another runtime, against whittle's own evaluation.
struct ExportClaim {
  int stage = -1;
  std::string file;  ///< inside the submission, under exports/
  double accuracy = 0, agreement = 0, max_logit_diff = 0;
  long long images = -1;  ///< the test images its parity was measured on; -1: not claimed (older submissions)
};

struct OpenedSubmission {
  SubmissionFiles files;
  std::vector<ExportClaim> exports;
  std::string recipe_file;  ///< inside the submission, under recipe/
  std::vector<std::string> sets;
  int model_stage = -1, evaluate_stage = -1;
  std::string model_key;
  std::map<std::string, double> claims;
  /// What the claimed accuracy was measured on: test images used, of the whole split's; -1 where
  /// claims.json does not say (older submissions).
  long long images = -1, split_images = -1;
  std::string score_preset;  ///< the preset the recipe's tables show (runtime/plan/plan.h)
};

/// Reads and checks a submission; throws SubmissionError with the reason it is rejected.
OpenedSubmission open_submission(const std::string& file);

/// Writes its files under `root`; gives the path of its recipe there.
std::string unpack_submission(const OpenedSubmission& s, const std::filesystem::path& root);

/// One line of the verify report: a claim, what was claimed and what was recomputed.
struct VerifyRow {
  std::string what, claimed, found;
  bool ok = false;
};

/// Checks an unpacked submission against its recipe's plan: the run record's keys, the model stage,
/// that the model is one the recipe makes, and every claim recomputed (LibTorch) from the model in
/// `root`. Throws StageError when the claims cannot be recomputed here, SubmissionError when the
/// model cannot be loaded.
struct Verification {
  std::vector<VerifyRow> rows;
  bool complete = false;  ///< false: the model is not the recipe's, so no claim was recomputed
  bool ok() const;
};
/// `in_sandbox`: this process runs inside a sandbox (runtime/system/sandbox.h), so a network the recipe
/// scripts in PyTorch may be evaluated; otherwise such a recipe is refused.
Verification verify_submission(const Plan& plan, const OpenedSubmission& s, const std::filesystem::path& root,
                               const std::filesystem::path& scratch, bool in_sandbox = false);

/// The `model torchscript` stage of a recipe (a network scripted in PyTorch: code), or nullptr.
const lang::StageInstance* scripted_model(const Plan& plan);

/// Runs `whittle verify ARCHIVE --in-sandbox` inside a sandbox (submission_sandbox.cc) that sees the
/// system's programs, this whittle, the archive and the data `plan` located, nothing else: no
/// network, a fresh /tmp, `seconds` of wall time and 8 GiB of address space. Its output is this
/// process's. Throws std::runtime_error when no sandbox can be made here.
SandboxResult verify_in_sandbox(const Plan& plan, const std::string& archive, const std::string& data_dir, int seconds);

}  // namespace whittle::runtime
