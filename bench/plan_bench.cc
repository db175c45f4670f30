// Planning speed: a 1,000-stage recipe against a warm cache (every stage fresh): parse, check,
// compile, keys, and one manifest read per stage. Target: under 0.2 s.
//   build/bench/plan_bench [repetitions]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "runtime/exec/executor.h"
#include "runtime/plan/plan.h"

namespace fs = std::filesystem;
using namespace whittle::runtime;

namespace {
struct Touch : StageRunner {
  void run(StageJob& job) override { std::ofstream(fs::path(job.out_dir) / "model.pt") << job.key; }
};
}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 11;
  const fs::path dir = fs::temp_directory_path() / "whittle_plan_bench";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string recipe = "recipe plan_bench\ndata synthetic\nmodel small_cnn\ntrain 10 epochs\n";
  for (int i = 3; i < 1000; ++i) recipe += i % 2 ? "prune 1% global l1\n" : "retrain 1 epoch rewind: lr\n";
  recipe += "evaluate\n";
  const std::string file = (dir / "plan_bench.recipe").string();
  std::ofstream(file) << recipe;
  ArtifactStore store((dir / "cache").string());
  {
    auto p = make_plan(whittle::lang::analyze_file(file), store);
    Touch t;
    Progress quiet;
    execute(*p, store, t, quiet);
  }
  std::vector<double> ms;
  std::size_t stages = 0, stale = 0;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto p = make_plan(whittle::lang::analyze_file(file), store);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    stages = p->steps.size();
    stale = p->stale_count();
  }
  std::sort(ms.begin(), ms.end());
  std::printf(
      "plan, %zu stages, warm cache (%zu stale): median %.1f ms (target 200 ms, ratio %.2f), min %.1f, max %.1f, %d "
      "reps\n",
      stages, stale, ms[ms.size() / 2], ms[ms.size() / 2] / 200.0, ms.front(), ms.back(), reps);
  fs::remove_all(dir);
  return 0;
}
