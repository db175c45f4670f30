// Lint speed: a realistic 200-line recipe and a generated 10,000-stage recipe, in-process
// (parse + use + check + lint) and through the `whittle lint` command. Prints medians.
//   build/bench/lint_bench [repetitions]
#include <fmt/format.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "bench/recipes.h"
#include "lang/analyze.h"

namespace {

using Clock = std::chrono::steady_clock;

/// 10,000 stage lines: a chain of train/prune/retrain/evaluate, one stage per line.
std::string recipe_10k() {
  std::string r = "data cifar10\nmodel resnet18\ntrain 100 epochs schedule: cosine()\n";
  const char* cycle[] = {"prune 1% global l1\n", "retrain 2 epochs rewind: lr\n", "evaluate\n", "quantize 8 bits\n"};
  for (int i = 3; i < 10000; ++i) r += cycle[i % 4];
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double time_analyze(const std::string& name, const std::string& text, int reps, std::size_t& stages,
                    std::size_t& diags) {
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    auto a = whittle::lang::analyze(name, text);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    stages = a->recipe.stages.size();
    diags = a->diags.all().size();
    if (a->diags.has_errors()) {
      std::fprintf(stderr, "benchmark recipe %s has errors\n", name.c_str());
      std::exit(1);
    }
  }
  return median(ms);
}

double time_cli(const std::string& path, int reps) {
  std::vector<double> ms;
  const std::string cmd = fmt::format("{} lint --format concise {} > /dev/null", WHITTLE_BIN, path);
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    const int rc = std::system(cmd.c_str());
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (rc == -1 || WEXITSTATUS(rc) > 1) std::exit(1);
  }
  return median(ms);
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 21;
  const std::string small = whittle::bench::recipe_200(), large = recipe_10k();
  std::size_t small_lines = std::count(small.begin(), small.end(), '\n');
  std::size_t s1 = 0, d1 = 0, s2 = 0, d2 = 0;
  const double t_small = time_analyze("long.recipe", small, reps, s1, d1);
  const double t_large = time_analyze("big.recipe", large, std::max(3, reps / 4), s2, d2);
  std::ofstream("/tmp/whittle_bench_200.recipe") << small;
  std::ofstream("/tmp/whittle_bench_10k.recipe") << large;
  const double c_small = time_cli("/tmp/whittle_bench_200.recipe", reps);
  const double c_large = time_cli("/tmp/whittle_bench_10k.recipe", std::max(3, reps / 4));
  std::printf("%-44s %10s %10s %8s\n", "case", "median ms", "target ms", "ratio");
  std::printf("%-44s %10.2f %10.0f %8.2f\n", fmt::format("in-process, {} lines -> {} stages", small_lines, s1).c_str(),
              t_small, 5.0, t_small / 5.0);
  std::printf("%-44s %10.2f %10.0f %8.2f\n", fmt::format("in-process, 10000 lines -> {} stages", s2).c_str(), t_large,
              1000.0, t_large / 1000.0);
  std::printf("%-44s %10.2f %10s %8s\n", "whittle lint (process), 200-line recipe", c_small, "-", "-");
  std::printf("%-44s %10.2f %10.0f %8.2f\n", "whittle lint (process), 10000-line recipe", c_large, 1000.0,
              c_large / 1000.0);
  std::printf("(%d repetitions; %zu and %zu diagnostics, notes included)\n", reps, d1, d2);
  return 0;
}
