// The LibTorch runner: each stage's kind from the table (stage_context.h), run over a context that
// keeps the run's data sets, then the stage's log into its entry.
#include "runtime/torch/stages/runner.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "runtime/system/atomic_file.h"
#include "runtime/torch/stages/stage_context.h"

namespace whittle::runtime {
namespace fs = std::filesystem;
using namespace torchrt;

namespace {

class TorchRunner : public StageRunner {
 public:
  explicit TorchRunner(int threads) {
    if (threads > 0) at::set_num_threads(threads);
  }

  void run(StageJob& job) override {
    const StageKind* kind = stage_kind(job.stage.kind);
    if (!kind) throw StageError(fmt::format("`{}` cannot run yet in this build", job.stage.kind));
    StageContext ctx(job, data_);
    kind->run(ctx);
    // The stage's log goes into its cache entry: the epochs (kept in the partial folder so that a
    // resumed stage keeps the lines of the epochs before the interruption), then its metrics.
    const fs::path partial_log = ctx.partial("log.txt");
    std::string log;
    if (fs::exists(partial_log)) {
      std::ifstream in(partial_log);
      log.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::string out = fmt::format("#{} {} ({})\n", job.stage.id, job.stage.kind, job.key) + log;
    for (const auto& [name, value] : job.metrics) out += fmt::format("{} = {}\n", name, value);
    ctx.write("log.txt", out);
  }

 private:
  std::map<int, Dataset> data_;  ///< the data sets loaded so far, by `data` stage
};

}  // namespace

std::unique_ptr<StageRunner> make_torch_runner(int threads) { return std::make_unique<TorchRunner>(threads); }

}  // namespace whittle::runtime
