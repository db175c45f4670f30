// Networks written in the recipe: how long checking a recipe with a ~100-layer network takes
// (parse, elaborate every shape, count), and building it as a model and previewing it (the
// modules, the profiled forward pass that measures its MACs) — against the target of 0.2 s for
// both together. The same network written at three sizes; medians of REPS runs.
//   build/bench/network_bench [REPS]       (default 11)
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "lang/analyze.h"
#include "lang/network.h"
#include "runtime/torch/models/models.h"

using namespace whittle;
using Clock = std::chrono::steady_clock;

namespace {

/// A DenseNet-B of `per_block` bottlenecks in each of three blocks: 6 layers per bottleneck, 4 per
/// transition.
std::string recipe(int per_block) {
  std::string r = "network dn(k: int = 12) {\n  conv 2 * $k channels\n";
  for (int b = 0; b < 3; ++b) {
    r += fmt::format(
        "  dense {} {{ bn -> relu -> conv 4 * $k channels kernel: 1 -> bn -> relu -> conv $k channels }}\n", per_block);
    r += b < 2 ? "  bn -> relu -> conv 50% kernel: 1 -> avgpool\n" : "  bn -> relu -> avgpool global -> linear\n";
  }
  return r + "}\ndata cifar10\nmodel dn\nevaluate\n";
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 11;
  at::set_num_threads(2);
  fmt::print("{:<34} {:>8} {:>12} {:>12} {:>12} {:>10} {:>7}\n", "network", "layers", "check ms", "build ms",
             "total ms", "target ms", "ratio");
  for (int per_block : {2, 5, 12}) {
    const std::string text = recipe(per_block);
    std::vector<double> check, build;
    std::size_t layers = 0;
    for (int i = 0; i < reps; ++i) {
      auto t0 = Clock::now();
      auto a = lang::analyze("bench.recipe", text);
      check.push_back(ms_since(t0));
      if (a->diags.has_errors() || !a->recipe.stages[1].network) {
        std::fprintf(stderr, "the benchmark's recipe does not check\n");
        return 1;
      }
      layers = lang::net::table_rows(*a->recipe.stages[1].network).size();
      t0 = Clock::now();
      runtime::torchrt::Net net = runtime::torchrt::build_model(a->recipe.stages[1], {3, 32, 32, 10}, 0);
      build.push_back(ms_since(t0));
      if (net.module->macs() != a->recipe.stages[1].network->root.macs) {
        std::fprintf(stderr, "measured MACs differ from the checker's\n");
        return 1;
      }
    }
    const double c = bench::median(check), b = bench::median(build);
    fmt::print("{:<34} {:>8} {:>12.2f} {:>12.2f} {:>12.2f} {:>10.0f} {:>7.2f}\n",
               fmt::format("DenseNet-B, 3 blocks of {}", per_block), layers, c, b, c + b, 200.0, (c + b) / 200.0);
  }
  fmt::print("({} repetitions; layers: every module row of `whittle check --layers`, blocks included)\n", reps);
  return 0;
}
