// Quantization's activation ranges (`range: mse`) and end layers (`first_last:`), in the stage and the score.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "lang/analyze.h"
#include "runtime/exec/executor.h"
#include "runtime/torch/compression/quant.h"
#include "runtime/torch/compression/score.h"
#include "tests/torch/nets.h"

using namespace whittle::runtime;
using namespace whittle::runtime::torchrt;
using whittle::test::build;
using whittle::test::quantize_all;

namespace {

/// The squared error of quantizing `v` on [lo, hi] (zero exact) at `levels` steps, written out
/// element by element: the reference `range: mse` is checked against.
double quantization_error(const std::vector<float>& v, double lo, double hi, double levels) {
  lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);
  const double scale = std::max((hi - lo) / levels, 1e-8), zero = std::nearbyint(-lo / scale);
  double sum = 0;
  for (const float x : v) {
    const double clipped = std::min(std::max<double>(x, -zero * scale), (levels - zero) * scale);
    const double q = (std::min(std::max(std::nearbyint(clipped / scale) + zero, 0.0), levels) - zero) * scale;
    sum += (q - x) * (q - x);
  }
  return sum;
}

const whittle::lang::StageInstance& quantize_stage(const whittle::lang::Analysis& a) {
  for (const auto& s : a.recipe.stages)
    if (s.kind == "quantize") return s;
  throw std::logic_error("no quantize stage");
}

}  // namespace

TEST_CASE("`range: mse` calibrates the clipping of least squared error, which beats min and max at 4 bits",
          "[torch][quant]") {
  torch::manual_seed(4);
  auto x = torch::randn({64, 1, 28, 28});
  x[0][0][0][0] = 40;  // one outlier stretches a min-max range eightfold
  x[1][0][0][0] = -12;
  auto calibrate = [&](const std::string& range) {
    Net net = build("small_cnn", {1, 28, 28, 10});
    QuantSpec q{"uniform", 8, 4};
    q.range = range;
    quantize_all(net, q);
    net.module->eval();
    torch::NoGradGuard no_grad;
    {
      Calibrating::Scope calibrating;
      net.module->forward(x);
    }
    return net;
  };
  Net minmax = calibrate("minmax"), mse = calibrate("mse");
  auto range_of = [](const Net& n) {
    auto buffers = n.layers()[0].module->named_buffers(true);
    return std::pair{buffers["q.act_min"].item<double>(), buffers["q.act_max"].item<double>()};
  };
  CHECK(range_of(minmax) == std::pair{-12.0, 40.0});
  // The first layer's input is x itself (64·784 elements: all of them in the sample); the factor
  // chosen is the one of 1/20 ... 20/20 whose error, summed element by element, is least.
  const std::vector<float> v(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
  int best = 0;
  double least = 0;
  for (int k = 1; k <= 20; ++k) {
    const double e = quantization_error(v, -12.0 * k / 20, 40.0 * k / 20, 15);
    if (best == 0 || e < least) best = k, least = e;
  }
  INFO("factor " << best << "/20");
  CHECK(best < 20);
  CHECK(range_of(mse).first == Approx(-12.0 * best / 20));
  CHECK(range_of(mse).second == Approx(40.0 * best / 20));
  // And the layer quantizes the bulk of its inputs with less error.
  torch::NoGradGuard no_grad;
  const auto bulk = torch::randn({8, 1, 28, 28});
  const auto err = [&](const Net& n) {
    return (n.layers()[0].layer->quant->input(bulk) - bulk).square().sum().item<double>();
  };
  CHECK(err(mse) < err(minmax) / 4);
}

TEST_CASE("`first_last:` quantizes the first and last layers at its bits, the rest at the stage's", "[torch][quant]") {
  auto a = whittle::lang::analyze(
      "q.recipe", "data synthetic size: 96\nmodel small_cnn\nquantize 4 bits activations: 4 bits first_last: 8 bits\n");
  REQUIRE(a->ok());
  Net net = build("small_cnn", {1, 28, 28, 10});
  CHECK(quantize_net(net, quantize_stage(*a)) == static_cast<int>(net.layers().size()));
  const auto layers = net.layers();
  REQUIRE(layers.size() >= 3);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    INFO(layers[i].name);
    const QuantSpec& q = spec_of(*layers[i].layer->quant);
    const int want = i == 0 || i + 1 == layers.size() ? 8 : 4;
    CHECK(q.bits == want);
    CHECK(q.abits == want);
  }
  // The ends' bits reach the score: the same stage without `first_last:` scores lower.
  auto all4 = whittle::lang::analyze("q.recipe",
                                     "data synthetic size: 96\nmodel small_cnn\nquantize 4 bits activations: 4 bits\n");
  Net plain = build("small_cnn", {1, 28, 28, 10});
  quantize_net(plain, quantize_stage(*all4));
  CHECK(score(plain, {}).total < score(net, {}).total);
  // Only uniform quantization has end layers to set apart.
  auto kmeans = whittle::lang::analyze(
      "q.recipe", "data synthetic size: 96\nmodel small_cnn\nquantize 4 bits kmeans first_last: 8 bits\n");
  REQUIRE(kmeans->ok());
  CHECK_THROWS_AS(quant_spec(quantize_stage(*kmeans)), StageError);
}
