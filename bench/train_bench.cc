// Training throughput of whittle's models: forward + backward + SGD step on random CIFAR-shaped
// batches, timed per step after one warm-up step, with the same allocator tuning as `whittle`.
// Compared side by side with PyTorch (bench/train_bench.py) by bench/compare_train.sh.
//   build/bench/train_bench ARCH [BATCH=128] [STEPS=5] [THREADS=2]   one JSON line per run
//   build/bench/train_bench --data [THREADS=2]                        the data pipeline alone
// train_bench is linked with tcmalloc as whittle is; train_bench_glibc uses glibc malloc, tuned with
// whittle's fallback mallopt settings unless WHITTLE_NO_MALLOPT=1.
#include <fmt/format.h>
#include <malloc.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include "lang/analyze.h"
#include "runtime/cache/data_files.h"
#include "runtime/torch/data/augment.h"
#include "runtime/torch/data/data.h"
#include "runtime/torch/models/archs.h"
#include "runtime/torch/models/models.h"

using namespace whittle;
using namespace whittle::runtime::torchrt;
using clock_type = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

int train(const char* side, const std::string& arch, std::int64_t batch, int steps) {
  torch::manual_seed(0);
  const Shape shape{3, 32, 32, 10};
  ArchParams params;
  if (const char* w = std::getenv("WIDTH")) params.width = std::atoll(w);  // base channels, for sizing fastnet
  auto net = make_arch(arch, params, shape);
  net->train();
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9).weight_decay(5e-4));
  auto x = torch::randn({batch, 3, 32, 32});
  auto y = torch::randint(0, 10, {batch});
  std::vector<double> ms;
  for (int i = 0; i <= steps; ++i) {  // step 0 warms oneDNN's primitive cache up
    const auto t0 = clock_type::now();
    clear_grads(*net);  // as whittle's train stage does
    auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
    loss.backward();
    opt.step();
    if (i > 0) ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    if (std::getenv("WHITTLE_BENCH_RSS")) fmt::print(stderr, "step {}: peak RSS {:.0f} MB\n", i, peak_rss_mb());
  }
  std::string list;
  for (double m : ms) list += fmt::format("{}{:.1f}", list.empty() ? "" : ", ", m);
  fmt::print(
      "{{\"side\": \"{}\", \"arch\": \"{}\", \"batch\": {}, \"threads\": {}, \"step_ms\": [{}], \"images_per_s\": "
      "{:.2f}, \"peak_rss_mb\": {:.0f}}}\n",
      side, arch, batch, at::get_num_threads(), list, static_cast<double>(batch) / (median(ms) / 1000.0),
      peak_rss_mb());
  return 0;
}

/// Loading CIFAR-10 and assembling augmented batches, without a model: batches per second.
int data_pipeline() {
  for (const std::string augment : {"crop(pad: 4), flip", "crop(pad: 4), flip, cutout(size: 8)",
                                    "crop(pad: 4), flip, gridmask(rotate: 30), cutmix"}) {
    auto a = lang::analyze("bench.recipe",
                           "data cifar10 augment: [" + augment + "]\nmodel resnet18\ntrain 1 epoch\nevaluate\n");
    std::string error;
    const auto& stage = a->recipe.stages[0];
    auto files = runtime::locate_data(stage, error);
    if (!files) {
      fmt::print(stderr, "{}\n(set WHITTLE_DATA to a folder holding cifar-10-batches-bin)\n", error);
      return 1;
    }
    const auto t_load = clock_type::now();
    Dataset d = load_dataset(stage, *files);
    const double load_s = std::chrono::duration<double>(clock_type::now() - t_load).count();
    Augmenter aug(*stage.value("augment"));
    auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
    const std::int64_t batch = 128, n = d.train_x.size(0), batches = n / batch;
    auto perm = torch::randperm(n, gen);
    const auto t0 = clock_type::now();
    for (std::int64_t b = 0; b < batches; ++b) {
      auto idx = perm.slice(0, b * batch, (b + 1) * batch);
      Batch bt{d.train_x.index_select(0, idx), d.train_y.index_select(0, idx), {}, 1, idx};
      aug.apply(bt, gen, 1.0);
    }
    const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
    fmt::print(
        "{{\"side\": \"whittle\", \"data\": \"cifar10\", \"augment\": \"{}\", \"load_s\": {:.2f}, \"batches_per_s\": "
        "{:.0f}, \"images_per_s\": {:.0f}}}\n",
        augment, load_s, static_cast<double>(batches) / s, static_cast<double>(batches * batch) / s);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
#ifdef WHITTLE_TCMALLOC
  const char* side = "whittle";  // linked with tcmalloc, as whittle is
#else
  const bool tuned = !std::getenv("WHITTLE_NO_MALLOPT");
  const char* side = tuned ? "whittle-glibc-tuned" : "whittle-glibc";
  if (tuned) {  // whittle's tuning when it is built without tcmalloc
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
  }
#endif
  if (argc < 2) {
    fmt::print(stderr, "usage: train_bench ARCH [BATCH] [STEPS] [THREADS] | train_bench --data [THREADS]\n");
    return 2;
  }
  const std::string first = argv[1];
  if (first == "--data") {
    at::set_num_threads(argc > 2 ? std::atoi(argv[2]) : 2);
    return data_pipeline();
  }
  at::set_num_threads(argc > 4 ? std::atoi(argv[4]) : 2);
  return train(side, first, argc > 2 ? std::atoll(argv[2]) : 128, argc > 3 ? std::atoi(argv[3]) : 5);
}
