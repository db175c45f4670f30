// The runtime's overhead around a training stage: the same model, data, optimizer and batches
// trained (a) by whittle's train stage and (b) by a bare LibTorch loop, alternating, medians.
// Target: whittle within 3% of the bare loop.
//   build/bench/overhead_bench [repetitions] [epochs]
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "runtime/cache/data_files.h"
#include "runtime/exec/executor.h"
#include "runtime/plan/plan.h"
#include "runtime/torch/data/data.h"
#include "runtime/torch/models/models.h"
#include "runtime/torch/stages/runner.h"

namespace fs = std::filesystem;
using namespace whittle::runtime;

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 3;
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 1;
  const int threads = 2;
  at::set_num_threads(threads);
  const fs::path dir = fs::temp_directory_path() / "whittle_overhead_bench";
  const std::string recipe = fmt::format(
      "recipe overhead\ndata fashion_mnist subset: 12000\nmodel small_cnn\n"
      "train {} epochs optimizer: sgd(lr: 0.05, momentum: 0.9, weight_decay: 5e-4) batch: 128\n",
      epochs);
  std::vector<double> ours, bare;
  for (int r = 0; r < reps; ++r) {
    auto whittle_side = [&] {
      // (a) whittle: plan and execute the recipe in a fresh cache; time the train stage.
      fs::remove_all(dir);
      fs::create_directories(dir);
      std::ofstream(dir / "overhead.recipe") << recipe;
      ArtifactStore store((dir / "cache").string());
      auto plan = make_plan(whittle::lang::analyze_file((dir / "overhead.recipe").string()), store);
      if (plan->analysis->diags.has_errors()) {
        std::fprintf(stderr, "needs Debian's dataset-fashion-mnist\n");
        std::exit(1);
      }
      auto runner = make_torch_runner(threads);
      Progress quiet;
      auto result = execute(*plan, store, *runner, quiet);
      ours.push_back(result.outcomes[2].seconds);
      return 0;
    };
    auto bare_side = [&] {
      // (b) a bare loop over the same data, model and optimizer.
      ArtifactStore store((dir / "cache").string());
      auto plan = make_plan(whittle::lang::analyze_file((dir / "overhead.recipe").string()), store);
      const auto& data_stage = plan->stage(0);
      std::string error;
      auto files = locate_data(data_stage, error);
      auto d = torchrt::load_dataset(data_stage, *files);
      auto net = torchrt::build_model(plan->stage(1), {1, 28, 28, 10}, 7);
      torch::optim::SGD opt(net.module->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(5e-4));
      const auto t0 = std::chrono::steady_clock::now();
      const std::int64_t n = d.train_x.size(0), batch = 128;
      for (int e = 0; e < epochs; ++e) {
        net.module->train();
        auto gen = at::make_generator<at::CPUGeneratorImpl>(e + 1);
        auto perm = torch::randperm(n, gen);
        for (std::int64_t b = 0; b < n; b += batch) {
          auto idx = perm.slice(0, b, std::min(n, b + batch));
          auto x = d.train_x.index_select(0, idx);
          auto y = d.train_y.index_select(0, idx);
          opt.zero_grad();
          auto loss = torch::nn::functional::cross_entropy(net.module->forward(x), y);
          loss.backward();
          opt.step();
        }
      }
      bare.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    };
    // Alternate which side goes first, so that neither always gets the warmer machine.
    if (r % 2 == 0) {
      whittle_side();
      bare_side();
    } else {
      bare_side();
      whittle_side();
    }
  }
  fs::remove_all(dir);
  std::sort(ours.begin(), ours.end());
  std::sort(bare.begin(), bare.end());
  const double a = ours[ours.size() / 2], b = bare[bare.size() / 2];
  std::printf("train stage, small_cnn on 12000 Fashion-MNIST images, %d epoch(s), %d threads, %d reps\n", epochs,
              threads, reps);
  std::printf(
      "  whittle train stage  median %.2f s\n  bare LibTorch loop   median %.2f s\n  overhead %.1f%% (target < 3%%)\n",
      a, b, 100.0 * (a / b - 1.0));
  return 0;
}
