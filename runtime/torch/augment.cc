// Batch augmentations. Each one draws all its random numbers for the batch at once from the
// stage's generator, so a resumed epoch replays exactly, and works on whole tensors (masks built
// from coordinate grids) rather than image by image.
#include "runtime/torch/augment.h"

#include <cmath>

#include "runtime/params.h"

namespace whittle::runtime::torchrt {
namespace {

using torch::indexing::Slice;

double field(const lang::Val& v, const char* name) { return Params(v).number(name); }

/// Per-image Bernoulli(p) as a bool tensor [N].
torch::Tensor chosen(std::int64_t n, double p, torch::Generator& gen) { return torch::rand({n}, gen) < p; }

/// Beta(a, a) from two gamma draws.
double beta(double a, torch::Generator& gen) {
  auto g = at::_standard_gamma(torch::full({2}, a, torch::kFloat64), gen);
  return (g[0] / (g[0] + g[1])).item<double>();
}

/// Row and column coordinates [1, 1, H, 1] and [1, 1, 1, W] as floats.
std::pair<torch::Tensor, torch::Tensor> grid(std::int64_t h, std::int64_t w) {
  return {torch::arange(h, torch::kFloat32).view({1, 1, h, 1}), torch::arange(w, torch::kFloat32).view({1, 1, 1, w})};
}

torch::Tensor crop(const torch::Tensor& x, int pad, torch::Generator& gen) {
  const auto n = x.size(0), h = x.size(2), w = x.size(3);
  auto padded = torch::constant_pad_nd(x, {pad, pad, pad, pad}, 0);
  auto dy = torch::randint(0, 2 * pad + 1, {n}, gen);
  auto dx = torch::randint(0, 2 * pad + 1, {n}, gen);
  // Gather every image's window at once: rows [N, H, 1], cols [N, 1, W] index the padded batch.
  auto rows = (dy.view({n, 1}) + torch::arange(h)).view({n, h, 1});
  auto cols = (dx.view({n, 1}) + torch::arange(w)).view({n, 1, w});
  auto out = padded.permute({0, 2, 3, 1}).index({torch::arange(n).view({n, 1, 1}), rows, cols});  // [N, H, W, C]
  return out.permute({0, 3, 1, 2}).contiguous();
}

torch::Tensor flip(torch::Tensor x, double p, torch::Generator& gen) {
  auto which = chosen(x.size(0), p, gen).view({-1, 1, 1, 1});
  return torch::where(which, x.flip({3}), x);
}

/// Zeroes a size×size square centred anywhere in the image (clipped at the border).
torch::Tensor cutout(const torch::Tensor& x, int size, double p, torch::Generator& gen) {
  const auto n = x.size(0), h = x.size(2), w = x.size(3);
  auto cy = torch::randint(0, h, {n}, gen).to(torch::kFloat32).view({n, 1, 1, 1});
  auto cx = torch::randint(0, w, {n}, gen).to(torch::kFloat32).view({n, 1, 1, 1});
  auto on = chosen(n, p, gen).view({n, 1, 1, 1});
  auto [r, c] = grid(h, w);
  const double lo = std::floor(size / 2.0), hi = size - lo;  // rows cy-lo .. cy+hi-1
  auto hole = (r >= cy - lo) & (r < cy + hi) & (c >= cx - lo) & (c < cx + hi) & on;
  return x.masked_fill(hole, 0);
}

/// GridMask (Chen et al. 2020): in every d×d unit a square of side (1 − ratio)·d is dropped, so a
/// share 1 − (1 − ratio)² of the image is kept; d, the grid's offset and its rotation are random
/// per image.
torch::Tensor gridmask(const torch::Tensor& x, const lang::Val& a, double progress, torch::Generator& gen) {
  const auto n = x.size(0), h = x.size(2), w = x.size(3);
  double p = field(a, "p");
  if (const double ramp = field(a, "ramp"); ramp > 0) p *= std::min(1.0, progress / ramp);
  const auto dmin = static_cast<std::int64_t>(field(a, "d_min")), dmax = static_cast<std::int64_t>(field(a, "d_max"));
  auto d = torch::randint(std::min(dmin, dmax), std::max(dmin, dmax) + 1, {n}, gen).to(torch::kFloat32).view({n, 1, 1, 1});
  auto oy = torch::rand({n}, gen).view({n, 1, 1, 1}) * d;
  auto ox = torch::rand({n}, gen).view({n, 1, 1, 1}) * d;
  auto angle = torch::rand({n}, gen).view({n, 1, 1, 1}) * (field(a, "rotate") * M_PI / 180.0);
  auto on = chosen(n, p, gen).view({n, 1, 1, 1});
  auto [r, c] = grid(h, w);
  r = r - (h - 1) / 2.0;
  c = c - (w - 1) / 2.0;
  auto cos = angle.cos(), sin = angle.sin();
  auto u = cos * r - sin * c + oy, v = sin * r + cos * c + ox;  // rotated coordinates, [N, 1, H, W]
  auto side = d * (1.0 - field(a, "ratio"));
  auto dropped = (torch::remainder(u, d) < side) & (torch::remainder(v, d) < side) & on;
  return x.masked_fill(dropped, 0);
}

}  // namespace

Augmenter::Augmenter(const lang::Val& list) {
  for (const auto& item : list.items) steps_.push_back(&item);
}

void Augmenter::apply(Batch& b, torch::Generator& gen, double progress) const {
  bool copied = false;  // the batch may be a view of the data set: copy before the first change
  auto own = [&] {
    if (!copied) b.x = b.x.clone();
    copied = true;
  };
  // Mixup and CutMix both listed: each batch uses one of them, picked at random (as timm does).
  std::vector<const lang::Val*> mixers;
  for (const lang::Val* a : steps_)
    if (a->str == "mixup" || a->str == "cutmix") mixers.push_back(a);
  const lang::Val* mixer = mixers.empty() ? nullptr : mixers[0];
  if (mixers.size() > 1) mixer = mixers[torch::randint(0, static_cast<std::int64_t>(mixers.size()), {1}, gen).item<std::int64_t>()];
  for (const lang::Val* a : steps_) {
    const std::string& k = a->str;
    if ((k == "mixup" || k == "cutmix") && a != mixer) continue;
    const auto n = b.x.size(0);
    if (k == "crop") {
      if (const int pad = static_cast<int>(field(*a, "pad")); pad > 0) b.x = crop(b.x, pad, gen), copied = true;
    } else if (k == "flip") {
      b.x = flip(b.x, field(*a, "p"), gen), copied = true;
    } else if (k == "cutout") {
      b.x = cutout(b.x, static_cast<int>(field(*a, "size")), field(*a, "p"), gen), copied = true;
    } else if (k == "gridmask") {
      b.x = gridmask(b.x, *a, progress, gen), copied = true;
    } else if (k == "mixup" || k == "cutmix") {
      // One coin and one lambda per batch; the partner of each image is a random other image.
      const bool on = torch::rand({1}, gen).item<double>() < field(*a, "p");
      const double lam = beta(field(*a, "alpha"), gen);
      auto perm = torch::randperm(n, gen);
      if (!on || n < 2) continue;
      own();
      auto other = b.x.index_select(0, perm);
      if (k == "mixup") {
        b.x = b.x * lam + other * (1 - lam);
        b.lam = lam;
      } else {  // CutMix: paste a box of area (1 − lam)·H·W, then lam is the area actually kept
        const auto h = b.x.size(2), w = b.x.size(3);
        const double cut = std::sqrt(1 - lam);
        const auto ch = static_cast<std::int64_t>(h * cut), cw = static_cast<std::int64_t>(w * cut);
        auto centre = torch::rand({2}, gen);
        const auto cy = static_cast<std::int64_t>(centre[0].item<double>() * h), cx = static_cast<std::int64_t>(centre[1].item<double>() * w);
        const auto y1 = std::clamp<std::int64_t>(cy - ch / 2, 0, h), y2 = std::clamp<std::int64_t>(cy + ch / 2, 0, h);
        const auto x1 = std::clamp<std::int64_t>(cx - cw / 2, 0, w), x2 = std::clamp<std::int64_t>(cx + cw / 2, 0, w);
        b.x.index_put_({Slice(), Slice(), Slice(y1, y2), Slice(x1, x2)}, other.index({Slice(), Slice(), Slice(y1, y2), Slice(x1, x2)}));
        b.lam = 1.0 - static_cast<double>((y2 - y1) * (x2 - x1)) / static_cast<double>(h * w);
      }
      b.y_mix = b.y.index_select(0, perm);
    }
  }
}

}  // namespace whittle::runtime::torchrt
