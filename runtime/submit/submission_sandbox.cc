// `whittle verify` of a submission whose recipe scripts its network: the same verify again, inside a
// sandbox (sandbox.h), seeing nothing of this machine but its programs, the archive and the data.
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "runtime/cache/data_files.h"
#include "runtime/submit/submission.h"
#include "runtime/system/sandbox.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

SandboxResult verify_in_sandbox(const Plan& plan, const std::string& archive, const std::string& data_dir,
                                int seconds) {
  SandboxSpec spec;
  spec.seconds = seconds;
  std::error_code ec;
  // whittle itself: the program and what it loads from beside it (its libraries, the LibTorch module).
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find the whittle program to run in the sandbox");
  spec.read_only.push_back(exe.parent_path().parent_path().string());
  if (const char* module = std::getenv("WHITTLE_TORCH_MODULE"); module && *module) {
    spec.read_only.push_back(fs::path(module).parent_path().string());
    spec.env.emplace_back("WHITTLE_TORCH_MODULE", module);
  }
  // The archive, at a path that says nothing of this machine's folders.
  const std::string file = fs::absolute(archive, ec).lexically_normal().string(),
                    inside = "/submission/submission.tar.gz";
  spec.mounts.emplace_back(file, inside);
  // The data, where this process found it (never the submission's `root:`: plan.data_roots is false).
  for (const auto& st : plan.analysis->recipe.stages) {
    if (st.kind != "data") continue;
    std::string error;
    if (auto d = locate_data(st, error, plan.data_dir, plan.data_roots); d && !d->root.empty())
      spec.read_only.push_back(d->root);
  }
  for (const char* pass : {"WHITTLE_DATA", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS"})
    if (const char* v = std::getenv(pass); v && *v) spec.env.emplace_back(pass, v);
  std::vector<std::string> argv = {exe.string(), "verify", inside, "--in-sandbox"};
  if (!data_dir.empty()) argv.insert(argv.end(), {"--data", fs::absolute(data_dir, ec).lexically_normal().string()});
  return run_sandboxed(spec, argv);
}

}  // namespace whittle::runtime
