// Realised int8 inference (`convert`): CPU latency of a model in float32 against the same model
// converted to LibTorch's int8 kernels (int8.h), at batch 1 and batch 256, and how far the int8
// logits are from the float ones. Weights are the seeded initialisation with BN statistics from a
// few training-mode passes; calibration on 8 random batches of 64. Rounds alternate fp32 and int8
// so that both see the same machine; medians are reported.
//
//   build/bench/int8_bench [ARCH...]     (default: resnet18 densenet_cifar)
//   env: ROUNDS (default 3), THREADS (default 2), ENGINE (onednn or qnnpack, default onednn)
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "runtime/torch/compression/int8.h"
#include "runtime/torch/models/archs.h"
#include "runtime/torch/training/evaluate.h"

using namespace whittle::runtime::torchrt;
using whittle::bench::env_int;
using whittle::bench::median;

namespace {

Net build(const std::string& arch) {
  Net net = whittle::bench::cifar_net(arch);
  torch::NoGradGuard no_grad;  // realistic BN statistics: a few training-mode passes
  net.module->train();
  for (int i = 0; i < 4; ++i) net.module->forward(torch::randn({32, 3, 32, 32}));
  net.module->eval();
  return net;
}

}  // namespace

int main(int argc, char** argv) {
  at::set_num_threads(env_int("THREADS", 2));
  const int rounds = env_int("ROUNDS", 3);
  const std::string engine = std::getenv("ENGINE") ? std::getenv("ENGINE") : "onednn";
  std::vector<std::string> archs;
  for (int i = 1; i < argc; ++i) archs.emplace_back(argv[i]);
  if (archs.empty()) archs = {"resnet18", "densenet_cifar"};
  fmt::print("engine {}, {} threads, {} rounds\n", engine, at::get_num_threads(), rounds);
  fmt::print("{:<15} {:>6} {:>10} {:>10} {:>8} {:>12} {:>8}\n", "arch", "batch", "fp32 ms", "int8 ms", "speedup",
             "max |Δlogit|", "argmax=");
  for (const auto& arch : archs) {
    Net fp32 = build(arch), int8 = build(arch);
    std::vector<torch::Tensor> calib;
    for (int i = 0; i < 8; ++i) calib.push_back(torch::randn({64, 3, 32, 32}));
    convert_int8(int8, engine, calib);
    for (std::int64_t batch : {1, 256}) {
      const auto x = torch::randn({batch, 3, 32, 32});
      torch::NoGradGuard no_grad;
      const auto a = fp32.module->forward(x), b = int8.module->forward(x);
      const double diff = (a - b).abs().max().item<double>();
      const double agree = a.argmax(1).eq(b.argmax(1)).to(torch::kFloat64).mean().item<double>();
      std::vector<double> f, q;
      for (int r = 0; r < rounds; ++r) {
        f.push_back(measure_latency(*fp32.module, x, torch::kCPU).median_ms);
        q.push_back(measure_latency(*int8.module, x, torch::kCPU).median_ms);
      }
      fmt::print("{:<15} {:>6} {:>10.2f} {:>10.2f} {:>7.2f}x {:>12.4f} {:>7.1f}%\n", arch, batch, median(f), median(q),
                 median(f) / median(q), diff, agree * 100);
    }
  }
}
