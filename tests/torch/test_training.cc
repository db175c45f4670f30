// Augmentations, schedules and evaluation metrics of the LibTorch runner, on tiny tensors.
#include <catch2/catch.hpp>

#include "tests/skip.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "lang/analyze.h"
#include "runtime/torch/data/augment.h"
#include "runtime/torch/models/archs.h"
#include "runtime/torch/models/layers.h"
#include "runtime/torch/training/average.h"
#include "runtime/torch/training/evaluate.h"
#include "runtime/torch/training/fit.h"
#include "runtime/torch/training/schedule.h"

using namespace whittle;
using namespace whittle::runtime::torchrt;

namespace {

/// The checked `data` stage of a one-line recipe, kept alive with its analysis.
struct DataStage {
  std::unique_ptr<lang::Analysis> a;
  explicit DataStage(const std::string& augment) {
    a = lang::analyze("t.recipe",
                      "data synthetic augment: [" + augment + "]\nmodel small_cnn\ntrain 1 epoch\nevaluate\n");
    REQUIRE(a->ok());
  }
  const lang::Val& list() const { return *a->recipe.stages[0].value("augment"); }
};

Batch ramp_batch(std::int64_t n = 64, std::int64_t side = 16) {
  // Every pixel distinct and non-zero, so zeroed and moved pixels are visible.
  auto x = torch::arange(1, n * 3 * side * side + 1, torch::kFloat32).view({n, 3, side, side});
  return {x, torch::arange(n) % 4, {}, 1};
}

Batch augmented(const std::string& augment, double progress = 100, std::uint64_t seed = 7,
                torch::Device device = torch::kCPU) {
  DataStage d(augment);
  Augmenter aug(d.list());
  Batch b = ramp_batch();
  b.index = torch::arange(b.x.size(0));
  b.x = b.x.to(device), b.y = b.y.to(device);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  aug.apply(b, gen, progress);
  return b;
}

}  // namespace

TEST_CASE("crop takes a window of the zero-padded image", "[torch][augment]") {
  const Batch in = ramp_batch();
  const Batch out = augmented("crop(pad: 3)");
  const auto padded = torch::constant_pad_nd(in.x, {3, 3, 3, 3}, 0);
  for (std::int64_t i = 0; i < in.x.size(0); ++i) {
    bool found = false;
    for (int dy = 0; dy <= 6 && !found; ++dy)
      for (int dx = 0; dx <= 6 && !found; ++dx)
        found = torch::equal(padded[i].narrow(1, dy, 16).narrow(2, dx, 16), out.x[i]);
    CHECK(found);
  }
  CHECK(torch::equal(augmented("crop(pad: 3)").x, out.x));         // same seed, same batch
  CHECK(!torch::equal(augmented("crop(pad: 3)", 0, 8).x, out.x));  // another seed, another one
}

TEST_CASE("flip mirrors with its probability and never touches the data set", "[torch][augment]") {
  const Batch in = ramp_batch();
  CHECK(torch::equal(augmented("flip(p: 1)").x, in.x.flip({3})));
  CHECK(torch::equal(augmented("flip(p: 0)").x, in.x));
  const auto half = augmented("flip(p: 0.5)").x;
  const auto flipped = (half == in.x.flip({3})).flatten(1).all(1).sum().item<int>();
  CHECK(flipped > 16);
  CHECK(flipped < 48);
}

TEST_CASE("translate takes a window of the image with its edges reflected, at most pad pixels off",
          "[torch][augment]") {
  const Batch in = ramp_batch();
  const Batch out = augmented("translate(pad: 2)");
  const auto padded = torch::reflection_pad2d(in.x, {2, 2, 2, 2});
  int moved = 0;
  for (std::int64_t i = 0; i < in.x.size(0); ++i) {
    bool found = false;
    for (int dy = 0; dy <= 4 && !found; ++dy)
      for (int dx = 0; dx <= 4 && !found; ++dx) {
        found = torch::equal(padded[i].narrow(1, dy, 16).narrow(2, dx, 16), out.x[i]);
        moved += found && (dy != 2 || dx != 2);
      }
    CHECK(found);
  }
  CHECK(moved > 40);                          // 24 of 25 offsets move the image
  CHECK(out.x.eq(0).sum().item<int>() == 0);  // reflected, never zero-filled
  CHECK(torch::equal(augmented("translate(pad: 2)").x, out.x));
}

TEST_CASE("alternate_flip flips each image in exactly alternate epochs, half of them first", "[torch][augment]") {
  DataStage d("alternate_flip");
  Augmenter aug(d.list(), 11);
  const Batch in = ramp_batch();
  auto flipped_in = [&](double progress, const torch::Tensor& index) {
    Batch b = in;
    b.index = index;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(
        static_cast<std::uint64_t>(progress * 1000));  // any draws: it uses none
    aug.apply(b, gen, progress);
    auto f = (b.x == in.x.flip({3})).flatten(1).all(1);
    CHECK(torch::equal(f.logical_or((b.x == in.x).flatten(1).all(1)),
                       torch::ones({in.x.size(0)}, torch::kBool)));  // each image whole
    return f;
  };
  const auto index = torch::arange(in.x.size(0));
  const auto e0 = flipped_in(0.5, index);
  for (int e = 1; e < 6; ++e) {
    const auto fe = flipped_in(e + 0.25, index);
    CHECK(torch::equal(fe, e % 2 ? e0.logical_not() : e0));  // alternate epochs, exactly
  }
  const int first = e0.sum().item<int>();
  CHECK(first > 16);  // a random first epoch: about half flipped
  CHECK(first < 48);
  // An image's flips follow the image, not its place in the batch.
  const auto shuffled = torch::randperm(in.x.size(0), at::make_generator<at::CPUGeneratorImpl>(3));
  Batch b = in;
  b.x = in.x.index_select(0, shuffled);
  b.index = shuffled;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  aug.apply(b, gen, 2.5);
  CHECK(
      torch::equal((b.x == in.x.index_select(0, shuffled).flip({3})).flatten(1).all(1), e0.index_select(0, shuffled)));
  // Another data seed: another first epoch.
  Augmenter other(d.list(), 12);
  Batch c = in;
  c.index = index;
  other.apply(c, gen, 0.5);
  CHECK(!torch::equal((c.x == in.x.flip({3})).flatten(1).all(1), e0));
}

TEST_CASE("cutout zeroes one square of at most size x size", "[torch][augment]") {
  const auto out = augmented("cutout(size: 6)").x;
  const auto zeros = out.eq(0).select(1, 0).flatten(1).sum(1);  // per image, in one channel
  CHECK(zeros.max().item<int>() <= 36);
  CHECK(zeros.min().item<int>() >= 9);  // a centre in the corner still leaves a 3x3 quarter
  CHECK(torch::equal(out.eq(0).select(1, 0), out.eq(0).select(1, 2)));  // all channels alike
}

TEST_CASE("GridMask keeps 1 - (1 - ratio)^2 of the image and ramps its probability", "[torch][augment]") {
  const auto out = augmented("gridmask(d_min: 4, d_max: 8, ratio: 0.5, p: 1)").x;
  const double kept = out.ne(0).to(torch::kFloat32).mean().item<double>();
  CHECK(kept == Approx(0.75).margin(0.06));
  const auto rotated = augmented("gridmask(d_min: 4, d_max: 8, ratio: 0.5, rotate: 45, p: 1)").x;
  CHECK(rotated.ne(0).to(torch::kFloat32).mean().item<double>() == Approx(0.75).margin(0.08));
  CHECK(torch::equal(augmented("gridmask(ratio: 0.5, p: 1, ramp: 5)", 0).x, ramp_batch().x));  // epoch 0 of the ramp
}

TEST_CASE("mixup and CutMix mix images and give the loss its two labels", "[torch][augment]") {
  const Batch in = ramp_batch();
  const Batch mix = augmented("mixup(alpha: 1)");
  REQUIRE(mix.y_mix.defined());
  CHECK(mix.lam > 0);
  CHECK(mix.lam < 1);
  const Batch cut = augmented("cutmix(alpha: 1)");
  REQUIRE(cut.y_mix.defined());
  // lam is the share of pixels each image kept of its own.
  const double own = (cut.x == in.x).to(torch::kFloat32).mean().item<double>();
  CHECK(own == Approx(cut.lam).margin(1e-6));
  CHECK(!augmented("mixup(p: 0)").y_mix.defined());
}

TEST_CASE("on a GPU every augmentation draws what it draws on the CPU and makes the same batch",
          "[torch][augment][cuda]") {
  if (!torch::cuda::is_available()) {
    WHITTLE_SKIP("no CUDA device");
  }
  for (const char* a : {"crop(pad: 3)", "flip(p: 0.5)", "cutout(size: 6)", "mixup(alpha: 1)", "cutmix(alpha: 1)",
                        "crop(pad: 2), flip, cutout(size: 4), mixup, cutmix",
                        "gridmask(d_min: 4, d_max: 8, ratio: 0.5, rotate: 45, p: 1)"}) {
    INFO(a);
    const Batch cpu = augmented(a), gpu = augmented(a, 100, 7, torch::kCUDA);
    CHECK(gpu.x.is_cuda());
    CHECK(gpu.lam == cpu.lam);
    CHECK(gpu.y_mix.defined() == cpu.y_mix.defined());
    if (cpu.y_mix.defined()) CHECK(torch::equal(gpu.y_mix.cpu(), cpu.y_mix));
    // Selections, masks and mixes of the same draws; GridMask's rotated grid is trigonometry, which
    // the two devices may round differently at a cell's edge.
    const double differ = gpu.x.cpu().ne(cpu.x).to(torch::kFloat32).mean().item<double>();
    if (std::string(a).find("gridmask") != std::string::npos)
      CHECK(differ < 1e-3);
    else
      CHECK(torch::allclose(gpu.x.cpu(), cpu.x, 1e-6, 1e-4));
  }
}

TEST_CASE("schedules: one-cycle, cosine, steps and warm-up", "[torch][schedule]") {
  auto sched = [](const std::string& text, double lr, double epochs) {
    auto a = lang::analyze("t.recipe",
                           "data synthetic\nmodel small_cnn\ntrain 10 epochs schedule: " + text + "\nevaluate\n");
    REQUIRE(a->ok());
    std::vector<double> out;
    const LrSchedule s{a->recipe.stages[2].value("schedule"), lr, epochs};
    for (double t : {0.0, 3.0, 5.0, 9.999}) out.push_back(s.at(t));
    return out;
  };
  auto one = sched("onecycle(max_lr: 0.4, pct_start: 0.3, div_factor: 10, final_div_factor: 100)", 0.1, 10);
  CHECK(one[0] == Approx(0.04));
  CHECK(one[1] == Approx(0.4));
  CHECK(one[3] == Approx(0.0004).margin(1e-5));
  auto cos = sched("cosine()", 0.1, 10);
  CHECK(cos[0] == Approx(0.1));
  CHECK(cos[2] == Approx(0.05));
  auto steps = sched("multistep(at: [3, 5], gamma: 0.1)", 0.1, 10);
  CHECK(steps[0] == Approx(0.1));
  CHECK(steps[1] == Approx(0.01));
  CHECK(steps[2] == Approx(0.001));
  // airbench's triangle: 0.2·lr at the start, lr at 23% of the stage, 0.07·lr at its end, linear between.
  auto tri = sched("triangle()", 0.1, 10);
  CHECK(tri[0] == Approx(0.02));
  CHECK(tri[1] == Approx(0.1 * (1 + (0.07 - 1) * (0.3 - 0.23) / 0.77)));
  CHECK(tri[3] == Approx(0.007).margin(2e-5));  // t = 9.999 of 10
  CHECK(sched("triangle(start: 0, peak: 0.5, end: 0)", 1, 10)[2] == Approx(1));
  auto warm = sched("constant(warmup: 6)", 0.1, 10);
  CHECK(warm[1] == Approx(0.05).margin(1e-4));
  CHECK(warm[3] == Approx(0.1));
}

TEST_CASE("norm_bias_lr puts the BatchNorm biases in a group of their own, lr times it, weight decay divided by it",
          "[torch][optimizer]") {
  auto a = lang::analyze(
      "t.recipe", "data synthetic\nmodel small_cnn\ntrain 1 epoch optimizer: sgd(lr: 0.1, weight_decay: 5e-4)\n");
  REQUIRE(a->ok());
  const lang::Val& o = *a->recipe.stages[2].value("optimizer");
  Net net;
  ArchParams p;
  p.width = 4;
  net.module = make_arch("resnet20", p, {3, 32, 32, 10});
  std::set<const void*> bn_biases;
  for (const auto& m : net.module->modules(false))
    if (const auto* bn = dynamic_cast<const BNImpl*>(m.get())) bn_biases.insert(bn->bias.unsafeGetTensorImpl());
  REQUIRE(bn_biases.size() == 19);  // resnet20: the stem's and two per block
  const auto plain = make_optimizer(o, net);
  CHECK(plain->param_groups().size() == 1);  // decay_norm_and_bias: one group, as before
  const auto scaled = make_optimizer(o, net, 64);
  REQUIRE(scaled->param_groups().size() == 2);
  const auto& g = scaled->param_groups().back();
  CHECK(g.params().size() == bn_biases.size());
  for (const auto& t : g.params()) CHECK(bn_biases.count(t.unsafeGetTensorImpl()) == 1);
  const auto& opt = static_cast<const torch::optim::SGDOptions&>(g.options());
  CHECK(opt.lr() == Approx(6.4));
  CHECK(opt.weight_decay() == Approx(5e-4 / 64));
  CHECK(static_cast<const torch::optim::SGDOptions&>(scaled->param_groups().front().options()).lr() == Approx(0.1));
  std::size_t all = 0;
  for (const auto& grp : scaled->param_groups()) all += grp.params().size();
  CHECK(all == net.module->parameters().size());  // every parameter in exactly one group
}

TEST_CASE("precision, recall, F1 and the confusion matrix", "[torch][evaluate]") {
  // Labels 0 0 1 1 2, predictions 0 1 1 1 0.
  auto labels = torch::tensor({0, 0, 1, 1, 2}, torch::kInt64);
  auto logits = torch::zeros({5, 3});
  const int pred[] = {0, 1, 1, 1, 0};
  for (int i = 0; i < 5; ++i) logits[i][pred[i]] = 5;
  const Scores s = score_predictions(logits, labels, 3);
  CHECK(s.accuracy == Approx(0.6));
  CHECK(s.confusion[0][1].item<std::int64_t>() == 1);
  CHECK(s.confusion[2][0].item<std::int64_t>() == 1);
  // precision: 0 → 1/2, 1 → 2/3, 2 → 0; recall: 1/2, 1, 0.
  CHECK(s.precision == Approx((0.5 + 2.0 / 3) / 3));
  CHECK(s.recall == Approx(0.5));
  CHECK(s.f1 == Approx((0.5 + 0.8 + 0) / 3));
  CHECK(confusion_csv(s) == "true\\predicted,0,1,2\n0,1,1,0\n1,0,2,0\n2,1,0,0\n");
}

TEST_CASE("lookahead and EMA, step by step against a hand-computed three-step example", "[torch][average]") {
  auto a = lang::analyze("t.recipe",
                         "data synthetic\nmodel small_cnn\n"
                         "train 1 epoch average: lookahead(every: 1, decay: 0.5)\n"
                         "train 1 epoch average: ema(every: 1, decay: 0.5)\n"
                         "train 1 epoch average: lookahead()\n");
  REQUIRE(a->ok());
  Net net;
  net.module = make_arch("small_cnn", {}, {1, 12, 12, 4});
  const auto w = net.module->parameters().front();
  auto set = [&](double v) {
    torch::NoGradGuard g;
    for (auto& p : net.module->parameters()) p.fill_(v);
  };
  auto value = [&] { return w.flatten()[0].item<double>(); };
  // Three steps of a stage of three; "training" moves every weight to 1 more than it was.
  SECTION("lookahead: the slow weights move 1 - 0.5·(s/3)³ of the way, and training goes on from them") {
    WeightAverage avg(*a->recipe.stages[2].value("average"), 3);
    set(1);
    avg.start(net);
    double slow = 1;
    for (int s = 1; s <= 3; ++s) {
      set(value() + 1);
      const double fast = value();
      avg.after_step(net, s);
      const double pull = 1 - 0.5 * std::pow(s / 3.0, 3);
      slow = slow + pull * (fast - slow);
      CHECK(value() == Approx(slow));
    }
    CHECK(slow == Approx(1 + (1 - 0.5 / 27) + (1 - 0.5 * 8 / 27) + 0.5));  // by hand: 1 → 1.98148 → 2.83333 → 3.33333
    avg.finish(net);
    CHECK(value() == Approx(slow));
  }
  SECTION("EMA: the average moves half way each step; training keeps its own weights; the stage ends on the average") {
    WeightAverage avg(*a->recipe.stages[3].value("average"), 3);
    set(1);
    avg.start(net);
    avg.after_step(net, 1);  // weights unchanged: the average stays 1
    set(3);
    avg.after_step(net, 2);  // (1 + 3) / 2 = 2
    CHECK(value() == Approx(3));
    set(4);
    avg.after_step(net, 3);  // (2 + 4) / 2 = 3
    CHECK(value() == Approx(4));
    avg.finish(net);
    CHECK(value() == Approx(3));
  }
  SECTION("airbench's lookahead pulls every 5th step only, a = 0.95^5·(s/T)³, and its state round-trips a checkpoint") {
    WeightAverage avg(*a->recipe.stages[4].value("average"), 100);
    CHECK(avg.pull(3) == 0);
    CHECK(avg.pull(5) == Approx(1 - std::pow(0.95, 5) * std::pow(0.05, 3)));
    CHECK(avg.pull(100) == Approx(1 - std::pow(0.95, 5)));
    set(2);
    avg.start(net);
    const std::string saved = avg.bytes();
    set(7);
    WeightAverage other(*a->recipe.stages[4].value("average"), 100);
    other.start(net);
    const auto path = (std::filesystem::temp_directory_path() / "whittle-average-test.safetensors").string();
    { std::ofstream(path, std::ios::binary) << saved; }
    other.load(path);
    other.finish(net);
    CHECK(value() == Approx(2));
    std::filesystem::remove(path);
  }
}
