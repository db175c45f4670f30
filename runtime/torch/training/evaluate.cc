#include "runtime/torch/training/evaluate.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace whittle::runtime::torchrt {

torch::Tensor predict(NetImpl& net, const torch::Tensor& x, std::int64_t batch, torch::Device device,
                      bool channels_last) {
  const bool was_training = net.is_training();
  net.eval();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  const std::int64_t n = x.size(0);
  for (std::int64_t b = 0; b < n; b += batch) {
    auto xb = x.slice(0, b, std::min(n, b + batch)).to(device);
    if (channels_last) xb = xb.contiguous(at::MemoryFormat::ChannelsLast);
    out.push_back(net.forward(xb).to(torch::kCPU, torch::kFloat32));
  }
  net.train(was_training);
  return torch::cat(out);
}

int tta_views(const std::string& tta) { return tta == "flip" ? 2 : tta == "flip_translate" ? 6 : 1; }

torch::Tensor predict_tta(NetImpl& net, const torch::Tensor& x, std::int64_t batch, torch::Device device,
                          const std::string& tta) {
  auto mirror = [&](const torch::Tensor& v) {
    return 0.5 * predict(net, v, batch, device) + 0.5 * predict(net, v.flip({3}), batch, device);
  };
  if (tta == "none") return predict(net, x, batch, device);
  if (tta == "flip") return mirror(x);
  const auto h = x.size(2), w = x.size(3);
  const auto padded = torch::reflection_pad2d(x, {1, 1, 1, 1});
  using torch::indexing::Slice;
  const auto up_left = padded.index({Slice(), Slice(), Slice(0, h), Slice(0, w)}).contiguous();
  const auto down_right = padded.index({Slice(), Slice(), Slice(2, h + 2), Slice(2, w + 2)}).contiguous();
  return 0.5 * mirror(x) + 0.25 * mirror(up_left) + 0.25 * mirror(down_right);
}

Scores score_predictions(const torch::Tensor& logits, const torch::Tensor& labels, int classes) {
  Scores s;
  const auto n = static_cast<double>(labels.size(0));
  const auto pred = logits.argmax(1);
  s.accuracy = pred.eq(labels).sum().item<double>() / n;
  s.loss = torch::nn::functional::cross_entropy(logits, labels).item<double>();
  s.confusion = torch::bincount(labels * classes + pred, {}, classes * classes).view({classes, classes});
  auto c = s.confusion.to(torch::kFloat64);
  auto tp = c.diagonal();
  // A class never predicted (or absent) has precision (recall) 0, as scikit-learn's zero_division=0.
  s.class_precision = torch::where(c.sum(0) > 0, tp / c.sum(0), torch::zeros_like(tp));
  s.class_recall = torch::where(c.sum(1) > 0, tp / c.sum(1), torch::zeros_like(tp));
  auto denom = s.class_precision + s.class_recall;
  s.class_f1 = torch::where(denom > 0, 2 * s.class_precision * s.class_recall / denom, torch::zeros_like(tp));
  s.precision = s.class_precision.mean().item<double>();
  s.recall = s.class_recall.mean().item<double>();
  s.f1 = s.class_f1.mean().item<double>();
  return s;
}

std::string confusion_csv(const Scores& s) {
  const auto k = s.confusion.size(0);
  std::string out = "true\\predicted";
  for (std::int64_t j = 0; j < k; ++j) out += fmt::format(",{}", j);
  out += "\n";
  auto a = s.confusion.accessor<std::int64_t, 2>();
  for (std::int64_t i = 0; i < k; ++i) {
    out += std::to_string(i);
    for (std::int64_t j = 0; j < k; ++j) out += fmt::format(",{}", a[i][j]);
    out += "\n";
  }
  return out;
}

std::string per_class_csv(const Scores& s) {
  std::string out = "class,precision,recall,f1,support\n";
  auto support = s.confusion.sum(1);
  for (std::int64_t i = 0; i < s.confusion.size(0); ++i)
    out += fmt::format("{},{:.6f},{:.6f},{:.6f},{}\n", i, s.class_precision[i].item<double>(),
                       s.class_recall[i].item<double>(), s.class_f1[i].item<double>(), support[i].item<std::int64_t>());
  return out;
}

Latency measure_latency(NetImpl& net, const torch::Tensor& batch, torch::Device device) {
  const bool was_training = net.is_training();
  net.eval();
  torch::NoGradGuard no_grad;
  auto x = batch.to(device);
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  using clock = std::chrono::steady_clock;
  // Warm-up: oneDNN and cuDNN pick and cache their kernels on the first calls.
  const auto w0 = clock::now();
  for (int i = 0; i < 3; ++i) net.forward(x);
  sync();
  const double warm = std::chrono::duration<double>(clock::now() - w0).count() / 3;
  // At least 10 timed runs, more while they fit in about two seconds, at most 200.
  const int runs = std::clamp(static_cast<int>(2.0 / std::max(warm, 1e-6)), 10, 200);
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = clock::now();
    net.forward(x);
    sync();
    ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
  }
  net.train(was_training);
  std::sort(ms.begin(), ms.end());
  Latency l;
  l.runs = runs;
  l.median_ms = ms[ms.size() / 2];
  l.p90_ms = ms[std::min(ms.size() - 1, static_cast<std::size_t>(0.9 * static_cast<double>(ms.size())))];
  l.images_per_s = static_cast<double>(batch.size(0)) / (l.median_ms / 1000.0);
  return l;
}

}  // namespace whittle::runtime::torchrt
