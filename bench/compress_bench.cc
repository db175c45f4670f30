// Realised compression: CPU inference of a dense model against the same model with P% of its
// removable filters physically pruned (structured, L1, per layer), at batch 1 and batch 256.
// Rounds alternate dense and slim so that both see the same machine; medians are reported.
//
//   build/bench/compress_bench [ARCH...]     (default: resnet18 vgg16)
//   env: ROUNDS (default 3), AMOUNT (default 50), THREADS (default 2)
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "runtime/torch/compression/prune.h"
#include "runtime/torch/models/archs.h"
#include "runtime/torch/training/evaluate.h"

using namespace whittle::runtime::torchrt;
using whittle::bench::env_int;
using whittle::bench::median;
const auto build = whittle::bench::cifar_net;

int main(int argc, char** argv) {
  at::set_num_threads(env_int("THREADS", 2));
  const int rounds = env_int("ROUNDS", 3);
  const double amount = env_int("AMOUNT", 50) / 100.0;
  std::vector<std::string> archs;
  for (int i = 1; i < argc; ++i) archs.emplace_back(argv[i]);
  if (archs.empty()) archs = {"resnet18", "vgg16"};
  fmt::print("{:<12} {:>6} {:>12} {:>12} {:>12} {:>12} {:>8}\n", "arch", "batch", "params", "MACs", "dense ms",
             "slim ms", "speedup");
  for (const auto& arch : archs) {
    Net dense = build(arch), slim = build(arch);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
    PruneSpec p;
    p.amount = amount;
    p.structured = p.physical = true;
    prune(slim, p, gen);
    slim.module->eval();
    for (std::int64_t batch : {1, 256}) {
      const auto x = torch::randn({batch, 3, 32, 32});
      std::vector<double> d, s;
      for (int r = 0; r < rounds; ++r) {
        d.push_back(measure_latency(*dense.module, x, torch::kCPU).median_ms);
        s.push_back(measure_latency(*slim.module, x, torch::kCPU).median_ms);
      }
      fmt::print("{:<12} {:>6} {:>5.2f}M/{:.2f}M {:>5.0f}M/{:.0f}M {:>12.2f} {:>12.2f} {:>7.2f}x\n", arch, batch,
                 static_cast<double>(count_params(slim)) / 1e6, static_cast<double>(count_params(dense)) / 1e6,
                 static_cast<double>(slim.module->macs()) / 1e6, static_cast<double>(dense.module->macs()) / 1e6,
                 median(d), median(s), median(d) / median(s));
    }
  }
}
