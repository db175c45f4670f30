// Compression: the quantizers' value sets and gradients, pruning (unstructured, structured masked
// and physical), their combination, checkpoints of compressed models, and the score presets against
// docs/course.md's calibration.
#include <catch2/catch.hpp>

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>

#include "runtime/exec/executor.h"
#include "runtime/torch/compression/model_file.h"
#include "runtime/torch/compression/prune.h"
#include "runtime/torch/compression/quant.h"
#include "runtime/torch/compression/score.h"
#include "runtime/torch/compression/sensitivity.h"
#include "runtime/torch/models/archs.h"
#include "tests/torch/nets.h"
#include "tests/torch/structured.h"

using namespace whittle::runtime;
using namespace whittle::runtime::torchrt;
using whittle::test::build;
using whittle::test::quantize_all;

namespace {

std::int64_t distinct(const torch::Tensor& t) { return std::get<0>(at::_unique(t.flatten())).numel(); }

/// The most distinct values of any output channel of any layer.
std::int64_t max_distinct_per_channel(const Net& net) {
  std::int64_t most = 0;
  for (const auto& l : net.layers()) {
    const auto w = Net::effective_weight(l);
    for (std::int64_t c = 0; c < w.size(0); ++c) most = std::max(most, distinct(w[c]));
  }
  return most;
}

std::int64_t max_distinct_nonzero_per_layer(const Net& net) {
  std::int64_t most = 0;
  for (const auto& l : net.layers()) {
    const auto w = Net::effective_weight(l).flatten();
    most = std::max(most, distinct(w.masked_select(w.ne(0))));
  }
  return most;
}

/// A few SGD steps on random data: what a retrain does to the weights, quantizers and masks.
void train_steps(Net& net, int steps, double lr = 0.05, Shape s = {1, 28, 28, 10}) {
  torch::optim::SGD opt(net.module->parameters(), torch::optim::SGDOptions(lr).momentum(0.9));
  net.module->train();
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    auto x = torch::randn({16, s.channels, s.height, s.width});
    auto y = torch::randint(0, s.classes, {16});
    torch::nn::functional::cross_entropy(net.module->forward(x), y).backward();
    opt.step();
    net.apply_masks();
  }
}

double prunable_density(const Net& net) {
  std::int64_t total = 0;
  const auto nz = count_nonzero_prunable(net, total);
  return static_cast<double>(nz) / static_cast<double>(total);
}

}  // namespace

TEST_CASE("the score presets reproduce docs/course.md's calibration", "[torch][score]") {
  Net net = build("resnet18");
  // Unquantized: 32 bits under course2025, the 2021 profiler's 16-bit default under course2021.
  const ScoreReport fp32 = score(net, {"course2025", true});
  CHECK(fp32.w == 11173962);
  CHECK(fp32.f == 555422720);
  CHECK(fp32.total == Approx(11173962 / 5.6e6 + 555422720 / 2.8e8));
  CHECK(score(net, {"course2021", true}).total == Approx(2.0).epsilon(1e-12));

  quantize_all(net, {"float", 16, 16});
  const ScoreReport r = score(net, {"course2025", true});
  CHECK(r.q_w == 16);
  CHECK(r.q_a == 16);
  CHECK(r.param_term == Approx(0.9977).margin(5e-5));
  CHECK(r.ops_term == Approx(0.9918).margin(5e-5));
  CHECK(std::round(r.total * 1e4) / 1e4 == Approx(1.9895));
  const ScoreReport r21 = score(net, {"course2021", true});
  CHECK(r21.f == 834362880);
  // A handful of the ~11M initial weights are below fp16's smallest value and round to zero: they count as pruned.
  CHECK(r21.total == Approx(2.0).margin(1e-5));
  CHECK(r21.total <= 2.0);
  CHECK(score(net, {"course2024", true}).ops_term == Approx(555422720 * 0.5 / 8.3e8));
  const ScoreReport micro = score(net, {"micronet2019", true});
  CHECK(micro.param_term == Approx(11173962 * 0.5 / 36.5e6));
  CHECK(micro.ops_term == Approx(555422720 * 1.5 / 10.49e9));
  CHECK(r.text().find("p_u = 0.0000") != std::string::npos);
}

TEST_CASE("course2021 counts as whittle does or as the course's profiler does, and says which", "[torch][score]") {
  Net net = build("small_cnn", {1, 28, 28, 10});
  quantize_all(net, {"uniform", 8, 32});
  const ScoreReport own = score(net, {"course2021", true, false});
  const ScoreReport prof = score(net, {"course2021", true, true});
  // The profiler: every parameter at the one precision (8 bits: qf = 4), no quantizer scales.
  // Zeros are counted in the conv and linear weights the model computes with (quantized), as pruning
  // makes them; the other parameters (biases, BatchNorm) count whole.
  double all = 0, weights = 0, linear_outputs = 0, quantizer = own.w;
  for (const auto& p : net.module->parameters())
    all += static_cast<double>(p.numel()), quantizer -= static_cast<double>(p.numel());
  for (const auto& l : net.layers()) {
    weights += Net::effective_weight(l).ne(0).sum().item<double>();
    all -= static_cast<double>(Net::effective_weight(l).eq(0).sum().item<std::int64_t>());
    if (l.layer->kind() == LayerKind::Linear) linear_outputs += static_cast<double>(l.weight.size(0));
  }
  CHECK(quantizer > 0);  // the per-channel scales whittle counts
  CHECK(prof.param_term == Approx(all / 4 / 5586981.0));
  // whittle: the other parameters (biases, BatchNorm) at 16 bits, the scales at 32.
  CHECK(own.param_term == Approx((weights / 4 + (all - weights) / 2 + quantizer) / 5586981.0));
  // Its linear counter has no bias op: one op less per linear output.
  CHECK(own.f - prof.f == linear_outputs);
  CHECK(prof.text().find("convention: profiler") != std::string::npos);
  CHECK(own.text().find("convention: whittle") != std::string::npos);
  // One precision for a model that has several cannot be the profiler's count.
  for (auto& l : net.layers())
    if (l.layer->kind() == LayerKind::Linear) quantize_layer(*l.module, {"uniform", 4, 32});
  CHECK_THROWS_AS(score(net, {"course2021", true, true}), StageError);
}

TEST_CASE("the score counts zeros in the tensors, bits per layer, and quantizer parameters", "[torch][score]") {
  Net net = build("small_cnn", {1, 28, 28, 10});
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  prune(net, {0.5, true, "l1", false, false, false, false}, gen);
  const ScoreReport r = score(net, {});
  std::int64_t total = 0;
  const auto nz = count_nonzero_prunable(net, total);
  CHECK(r.p_u == Approx(static_cast<double>(total - nz) / r.w));
  CHECK(r.p_s == 0);
  // Mixed precision: 8-bit k-means on the convs only; the linear layers stay at 32 bits.
  for (auto& l : net.layers())
    if (l.layer->kind() == LayerKind::Conv) quantize_layer(*l.module, {"kmeans", 8, 32});
  const ScoreReport m = score(net, {});
  CHECK(m.mixed);
  CHECK(m.w == r.w + 2 * 256);  // two codebooks of 2^8 centroids
  CHECK(m.param_term < r.param_term);
  // A filter mask counts as structured pruning and scales the ops term.
  Net s = build("small_cnn", {1, 28, 28, 10});
  prune(s, {0.5, false, "l1", true, false, false, false}, gen);
  const ScoreReport sr = score(s, {});
  CHECK(sr.p_s > 0.2);
  CHECK(sr.ops_term == Approx((1 - sr.p_s) * sr.f / 2.8e8));
}

TEST_CASE("fake-quantized weights take at most 2^b values per channel, k-means and APoT per layer", "[torch][quant]") {
  for (int bits : {2, 3, 4, 8}) {
    INFO("uniform " << bits << " bits");
    Net net = build("small_cnn", {1, 28, 28, 10});
    quantize_all(net, {"uniform", bits, 32});
    CHECK(max_distinct_per_channel(net) <= (1 << bits));
    train_steps(net, 3);  // quantization-aware: still on the grid after the latent weights moved
    CHECK(max_distinct_per_channel(net) <= (1 << bits));
  }
  for (int bits : {2, 4}) {
    INFO("kmeans / apot " << bits << " bits");
    Net k = build("small_cnn", {1, 28, 28, 10});
    quantize_all(k, {"kmeans", bits, 32});
    train_steps(k, 3);
    CHECK(max_distinct_nonzero_per_layer(k) <= (1 << bits));
    Net a = build("small_cnn", {1, 28, 28, 10});
    quantize_all(a, {"apot", bits, 32});
    train_steps(a, 3);
    for (const auto& l : a.layers()) CHECK(distinct(Net::effective_weight(l)) <= (1 << bits));
  }
  Net t = build("small_cnn", {1, 28, 28, 10});
  quantize_all(t, {"uniform", 4, 32, /*per_channel=*/false});
  for (const auto& l : t.layers()) CHECK(distinct(Net::effective_weight(l)) <= 16);
}

TEST_CASE("APoT levels are sums of powers of two and alpha learns", "[torch][quant]") {
  Net net = build("small_cnn", {1, 28, 28, 10});
  quantize_all(net, {"apot", 4, 32});
  const auto l = net.layers()[1];
  const auto levels = l.layer->quant->named_buffers()["levels"];
  CHECK(levels.numel() == 8);  // 3 magnitude bits: 2^3 levels, signed: at most 2^4 - 1 values
  CHECK(levels.max().item<float>() == 1.0f);
  auto alpha = l.layer->quant->named_parameters()["alpha"];
  const float before = alpha.item<float>();
  train_steps(net, 3);
  CHECK(alpha.item<float>() != before);
}

TEST_CASE("k-means centroids get the summed gradient of the weights that share them", "[torch][quant]") {
  Net net = build("small_cnn", {1, 28, 28, 10});
  auto l = net.layers()[1];
  quantize_layer(*l.module, {"kmeans", 3, 32});
  auto codebook = l.layer->quant->named_parameters()["codebook"];
  auto index = l.layer->quant->named_buffers()["index"];
  CHECK(codebook.numel() == 8);
  const auto r = torch::randn(l.weight.sizes());
  (l.layer->quant->weight(l.weight) * r).sum().backward();
  const auto expected =
      torch::zeros({8}).index_add_(0, index.flatten(), r.flatten() * l.weight.ne(0).flatten().to(torch::kFloat));
  CHECK(torch::allclose(codebook.grad(), expected, 1e-4, 1e-5));
  CHECK(!l.weight.grad().defined());  // the latent weights are not trained any more
}

TEST_CASE("BinaryConnect weights are exactly plus or minus the layer scale, latent weights stay in [-1, 1]",
          "[torch][quant]") {
  for (bool stochastic : {false, true}) {
    INFO("stochastic " << stochastic);
    Net net = build("small_cnn", {1, 28, 28, 10});
    quantize_all(net, {"binary", 1, 32, true, stochastic});
    train_steps(net, 3, 0.5);
    for (const auto& l : net.layers()) {
      const float scale = l.layer->quant->named_buffers()["scale"].item<float>();
      const auto w = Net::effective_weight(l);
      CHECK(w.abs().eq(scale).all().item<bool>());
      CHECK(l.weight.abs().max().item<float>() <= 1.0f);
    }
  }
}

TEST_CASE("activations are quantized to 2^a levels after calibration", "[torch][quant]") {
  Net net = build("small_cnn", {1, 28, 28, 10});
  quantize_all(net, {"uniform", 8, 4});
  net.module->eval();
  torch::NoGradGuard no_grad;
  {
    Calibrating::Scope calibrating;
    net.module->forward(torch::randn({64, 1, 28, 28}));
  }
  auto l = net.layers()[1];
  const auto x = l.layer->quant->input(torch::randn({8, 16, 14, 14}) * 3);
  CHECK(distinct(x) <= 16);
  CHECK(distinct(x) > 4);
}

TEST_CASE("pruning 20% seven times leaves 20.97% of the prunable weights, quantized or not", "[torch][prune]") {
  for (const char* method : {"", "uniform", "kmeans"}) {
    INFO("quantized: " << method);
    Net net = build("small_cnn", {1, 28, 28, 10});
    if (*method) quantize_all(net, {method, 4, 32});
    auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
    for (int round = 1; round <= 7; ++round) {
      prune(net, {0.2, true, "l1", false, false, false, false}, gen);
      train_steps(net, 2);
      CHECK(prunable_density(net) == Approx(std::pow(0.8, round)).margin(2e-4));
    }
    CHECK(prunable_density(net) == Approx(0.2097).margin(1e-4));
    if (std::string(method) == "uniform") CHECK(max_distinct_per_channel(net) <= 16);
    if (std::string(method) == "kmeans") CHECK(max_distinct_nonzero_per_layer(net) <= 16);
  }
}

TEST_CASE("a quantized model keeps its sparsity when quantized after pruning", "[torch][prune][quant]") {
  Net net = build("small_cnn", {1, 28, 28, 10});
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  prune(net, {0.6, false, "l1", false, false, false, false}, gen);
  const double density = prunable_density(net);
  for (const char* method : {"uniform", "kmeans", "apot", "binary"}) {
    INFO(method);
    Net q = build("small_cnn", {1, 28, 28, 10});
    for (const auto& [k, m] : net.masks) q.masks[k] = m.clone();
    q.apply_masks();
    quantize_all(q, {method, std::string(method) == "binary" ? 1 : 4, 32});
    train_steps(q, 2);
    std::int64_t total = 0, nz = 0;
    for (const auto& l : q.layers()) {
      const auto w = Net::effective_weight(l);
      total += w.numel();
      nz += w.ne(0).sum().item<std::int64_t>();
    }
    CHECK(static_cast<double>(nz) / static_cast<double>(total) <= density + 1e-9);
  }
}

TEST_CASE("structured pruning, masked or physical, computes the same function", "[torch][prune]") {
  const std::pair<const char*, Shape> archs[] = {{"resnet20", {3, 32, 32, 10}},  {"preact_resnet18", {3, 32, 32, 10}},
                                                 {"vgg11", {3, 32, 32, 10}},     {"densenet_cifar", {3, 32, 32, 10}},
                                                 {"mobilenet", {3, 32, 32, 10}}, {"mobilenetv2", {3, 32, 32, 10}},
                                                 {"resnet9", {3, 32, 32, 10}},   {"fastnet", {3, 32, 32, 10}},
                                                 {"small_cnn", {1, 28, 28, 10}}, {"lenet5", {1, 28, 28, 10}}};
  for (const auto& [arch, shape] : archs) {
    INFO(arch);
    ArchParams p;
    if (std::string(arch) == "resnet9" || std::string(arch) == "preact_resnet18") p.width = 16;
    whittle::test::check_masked_equals_physical([&] { return build(arch, shape, p); }, shape);
  }
}

TEST_CASE("a quantized model's checkpoint restores its quantizers", "[torch][quant]") {
  Net net = build("small_cnn", {1, 28, 28, 10});
  for (auto& l : net.layers()) quantize_layer(*l.module, {"kmeans", 3, 8});
  const auto path = (std::filesystem::temp_directory_path() / "whittle-quant.pt").string();
  save_net(net, path);
  Net back = build("small_cnn", {1, 28, 28, 10});
  load_net(back, path);
  const auto a = net.layers(), b = back.layers();
  for (std::size_t i = 0; i < a.size(); ++i)
    CHECK(torch::equal(Net::effective_weight(a[i]), Net::effective_weight(b[i])));
  CHECK(score(back, {}).total == score(net, {}).total);
  std::filesystem::remove(path);
}

TEST_CASE("ThiNet removes the channels the next layer does not need", "[torch][prune][thinet]") {
  // Channels 0, 1 and 2 of every group reach nothing downstream (their consumers' input weights are
  // zero), though their own filters are as large as any: ThiNet must remove exactly those, where a
  // norm of the filters would not see it.
  Net net = build("small_cnn", {1, 28, 28, 10});
  PruneSpec spec;
  spec.criterion = "thinet";
  spec.structured = true;
  spec.spare_first = spec.spare_last = false;
  {
    torch::NoGradGuard g;
    for (const auto& grp : net.module->channel_groups) {
      std::int64_t channels = 0;
      for (auto& l : net.layers())
        if (l.name == grp.producer) {
          channels = l.weight.size(0);
          l.weight.slice(0, 0, 3).mul_(5);  // the largest filters
          spec.per_layer[grp.producer] = 3.0 / static_cast<double>(channels);
        }
      for (const auto& c : grp.consumers)
        for (auto& l : net.layers())
          if (l.name == c) l.weight.view({l.weight.size(0), channels, -1}).slice(1, 0, 3).zero_();
    }
  }
  for (int b = 0; b < 4; ++b) spec.batches.push_back(torch::randn({32, 1, 28, 28}));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  prune(net, spec, gen);
  for (const auto& grp : net.module->channel_groups) {
    INFO(grp.producer);
    const auto alive = net.masks.at(grp.producer + ".weight").flatten(1).ne(0).any(1);
    CHECK(alive.slice(0, 0, 3).any().item<bool>() == false);
    CHECK(alive.slice(0, 3).all().item<bool>());
  }
  // ThiNet picks each layer's filters on its own.
  Net other = build("small_cnn", {1, 28, 28, 10});
  PruneSpec global = spec;
  global.per_layer.clear();
  global.amount = 0.3;
  global.global = true;
  CHECK_THROWS_AS(prune(other, global, gen), StageError);
}

TEST_CASE("the sensitivity scan prunes one layer at a time, picks within max_drop and restores the model",
          "[torch][prune][sensitivity]") {
  Net net = build("small_cnn", {1, 28, 28, 10});
  const std::vector<std::pair<std::string, torch::Tensor>> before = [&] {
    std::vector<std::pair<std::string, torch::Tensor>> v;
    for (const auto& p : net.module->named_parameters()) v.emplace_back(p.key(), p.value().clone());
    return v;
  }();
  // A stand-in for accuracy: it falls one for one with the sparsity of conv2 and ignores the rest.
  auto accuracy = [](Net& n) {
    auto it = n.masks.find("conv2.weight");
    return it == n.masks.end() ? 0.9 : 0.9 - (1 - it->second.mean().item<double>());
  };
  Sensitivity settings;
  settings.amounts = {0.5, 0.1, 0.3};
  settings.max_drop = 0.25;
  std::vector<std::string> told;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  const Sensitivity s = scan_sensitivity(net, settings, accuracy, gen,
                                         [&](std::size_t, std::size_t, const std::string& l) { told.push_back(l); });
  CHECK(s.amounts == std::vector<double>{0.1, 0.3, 0.5});
  CHECK(s.baseline == Approx(0.9));
  REQUIRE(s.layers.size() == net.layers().size());
  CHECK(told.size() == s.layers.size());
  for (const auto& l : s.layers) {
    INFO(l.layer);
    if (l.layer == "conv2") {
      CHECK(l.accuracy[0] == Approx(0.8).margin(1e-3));
      CHECK(l.accuracy[2] == Approx(0.4).margin(1e-3));
      CHECK(l.pick == 0.1);
    } else {
      CHECK(l.pick == 0.5);
    }
  }
  // Nothing of the trials is left in the model.
  CHECK(net.masks.empty());
  for (const auto& [name, value] : before) CHECK(torch::equal(net.module->named_parameters()[name], value));
  // The JSON the guided prune reads back.
  const Sensitivity again = Sensitivity::from_json(s.json());
  CHECK(again.layers.size() == s.layers.size());
  CHECK(again.layers[1].accuracy == s.layers[1].accuracy);
  CHECK(s.csv().find("conv2,") != std::string::npos);
  CHECK(s.table().find("pick") != std::string::npos);
}

TEST_CASE("a guided prune scales the scan's picks to remove its amount overall", "[torch][prune][sensitivity]") {
  Net net = build("small_cnn", {1, 28, 28, 10});
  PruneSpec spec;
  spec.amount = 0.3;
  const auto targets = prune_targets(net, false, true, true);  // conv2 and fc1
  REQUIRE(targets.size() == 2);
  Sensitivity scan;
  scan.amounts = {0.1, 0.5, 0.9};
  for (const auto& l : net.layers())
    scan.layers.push_back({l.name, l.weight.numel(), {0, 0, 0}, l.name == "conv2" ? 0.5 : 0.1});
  const auto amounts = guided_amounts(net, scan, spec);
  REQUIRE(amounts.size() == 2);
  double removed = 0, total = 0;
  for (const auto& [name, units] : targets)
    removed += amounts.at(name) * static_cast<double>(units), total += static_cast<double>(units);
  CHECK(removed / total == Approx(0.3).margin(1e-6));
  const double ratio = amounts.at("conv2") / amounts.at("fc1");
  CHECK((ratio == Approx(5.0) || amounts.at("conv2") == Approx(0.9)));
  // Pruned with those amounts, the layers hold 70% of their weights together.
  spec.per_layer = amounts;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  prune(net, spec, gen);
  double alive = 0;
  for (const auto& [name, units] : prune_targets(net, false, true, true)) alive += static_cast<double>(units);
  CHECK(alive / total == Approx(0.7).margin(1e-3));
  // More than the picks allow, or another structure, is refused.
  spec.per_layer.clear();
  spec.amount = 0.95;
  CHECK_THROWS_AS(guided_amounts(net, scan, spec), StageError);
  spec.amount = 0.3;
  spec.structured = true;
  CHECK_THROWS_AS(guided_amounts(net, scan, spec), StageError);
}

TEST_CASE("the sparsity pruning's masks make is kept apart from the zeros a quantizer's rounding adds",
          "[torch][score]") {
  // verify bounds a submission's sparsity from below by what the recipe's prunes remove; the zeros of
  // 2-bit rounding depend on the trained weights, so they are no part of that bound.
  Net net = build("small_cnn", {1, 28, 28, 10});
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  prune(net, {0.5, true, "l1", false, false, false, false}, gen);
  auto before = size_and_cost(net);
  CHECK(before.at("masked_sparsity") == Approx(0.5).margin(1e-3));
  CHECK(before.at("sparsity") == Approx(before.at("masked_sparsity")));
  quantize_all(net, {"uniform", 2, 32});
  const auto after = size_and_cost(net);
  CHECK(after.at("masked_sparsity") == Approx(before.at("masked_sparsity")));
  CHECK(after.at("sparsity") > after.at("masked_sparsity") + 0.01);  // 2-bit rounding zeroes ~2% more here
}
