// Patch whitening (whitening.h).
#include "runtime/torch/training/whitening.h"

#include "runtime/torch/models/layers.h"

namespace whittle::runtime::torchrt {

torch::Tensor patch_covariance(const torch::Tensor& images, int k) {
  torch::NoGradGuard no_grad;
  const std::int64_t c = images.size(1), dims = c * k * k;
  auto sum = torch::zeros({dims, dims}, torch::kFloat64);
  std::int64_t n = 0;
  // In slices of images, so that the patches of thousands of images never sit in memory at once.
  for (std::int64_t i = 0; i < images.size(0); i += 256) {
    const auto x = images.slice(0, i, std::min(images.size(0), i + 256)).to(torch::kFloat64);
    // [n, C, H', W', k, k] → [n, H', W', C, k, k] → one row per patch.
    const auto p = x.unfold(2, k, 1).unfold(3, k, 1).permute({0, 2, 3, 1, 4, 5}).reshape({-1, dims});
    sum += p.t().mm(p);
    n += p.size(0);
  }
  return sum / static_cast<double>(n);
}

torch::Tensor whitening_filters(const torch::Tensor& covariance, int channels, int k, double eps) {
  torch::NoGradGuard no_grad;
  auto [values, vectors] = torch::linalg_eigh(covariance, "U");  // ascending
  values = values.flip(0);
  vectors = vectors.flip(1);
  const std::int64_t dims = covariance.size(0);
  // Row i: the i-th eigenvector (largest first) over √(λ_i + eps).
  const auto w = (vectors.t() / torch::sqrt(values.clamp_min(0) + eps).unsqueeze(1)).reshape({dims, channels, k, k});
  return torch::cat({w, -w}).to(torch::kFloat32);
}

int init_whitening(Net& net, const Dataset& data) {
  int filled = 0;
  for (const auto& m : net.module->modules(/*include_self=*/false)) {
    auto* w = dynamic_cast<WhitenImpl*>(m.get());
    if (!w) continue;
    const int k = static_cast<int>(w->weight.size(2));
    const auto images = data.train_x.slice(0, 0, std::min<std::int64_t>(w->images, data.train_x.size(0)));
    const auto filters = whitening_filters(patch_covariance(images, k), static_cast<int>(images.size(1)), k, w->eps);
    torch::NoGradGuard no_grad;
    w->weight.copy_(filters);
    w->bias.zero_();
    ++filled;
  }
  return filled;
}

}  // namespace whittle::runtime::torchrt
