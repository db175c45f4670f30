// Batch augmentations. Each one draws all its random numbers for the batch at once from the
// stage's generator, so a resumed epoch replays exactly, and works on whole tensors (masks built
// from coordinate grids) rather than image by image. The batch may live on the training device (a
// data set resident there, data.h): the random numbers are still drawn on the CPU, from the same
// generator in the same order, and copied over (pinned, without waiting), so the CPU path is what it
// always was and a GPU run augments with the same draws.
#include "runtime/torch/data/augment.h"

#include <cmath>
#include <stdexcept>

#include "runtime/plan/params.h"

namespace whittle::runtime::torchrt {
namespace {

using torch::indexing::Slice;

double field(const lang::Val& v, const char* name) { return Params(v).number(name); }

/// `t` (drawn on the CPU) where `like` is: itself on the CPU; on CUDA, copied from pinned memory
/// without making the host wait.
torch::Tensor there(const torch::Tensor& t, const torch::Tensor& like) {
  if (!like.is_cuda()) return t;
  return t.pin_memory().to(like.device(), /*non_blocking=*/true);
}

/// Per-image Bernoulli(p) as a bool tensor [N], where `x` is.
torch::Tensor chosen(const torch::Tensor& x, double p, torch::Generator& gen) {
  return there(torch::rand({x.size(0)}, gen) < p, x);
}

/// Beta(a, a) from two gamma draws.
double beta(double a, torch::Generator& gen) {
  auto g = at::_standard_gamma(torch::full({2}, a, torch::kFloat64), gen);
  return (g[0] / (g[0] + g[1])).item<double>();
}

/// Row and column coordinates [1, 1, H, 1] and [1, 1, 1, W] as floats, where `x` is.
std::pair<torch::Tensor, torch::Tensor> grid(const torch::Tensor& x) {
  const auto h = x.size(2), w = x.size(3);
  const auto o = torch::TensorOptions(x.device()).dtype(torch::kFloat32);
  return {torch::arange(h, o).view({1, 1, h, 1}), torch::arange(w, o).view({1, 1, 1, w})};
}

/// Each image shifted by up to `pad` pixels each way: the window of the padded image (zeros, or the
/// image's edge reflected) at a random offset.
torch::Tensor crop(const torch::Tensor& x, int pad, torch::Generator& gen, bool reflect = false) {
  const auto n = x.size(0), h = x.size(2), w = x.size(3);
  auto padded =
      reflect ? torch::reflection_pad2d(x, {pad, pad, pad, pad}) : torch::constant_pad_nd(x, {pad, pad, pad, pad}, 0);
  auto dy = there(torch::randint(0, 2 * pad + 1, {n}, gen), x);
  auto dx = there(torch::randint(0, 2 * pad + 1, {n}, gen), x);
  // Gather every image's window at once: rows [N, H, 1], cols [N, 1, W] index the padded batch.
  const auto o = torch::TensorOptions(x.device()).dtype(torch::kInt64);
  auto rows = (dy.view({n, 1}) + torch::arange(h, o)).view({n, h, 1});
  auto cols = (dx.view({n, 1}) + torch::arange(w, o)).view({n, 1, w});
  auto out = padded.permute({0, 2, 3, 1}).index({torch::arange(n, o).view({n, 1, 1}), rows, cols});  // [N, H, W, C]
  return out.permute({0, 3, 1, 2}).contiguous();
}

torch::Tensor flip(torch::Tensor x, double p, torch::Generator& gen) {
  auto which = chosen(x, p, gen).view({-1, 1, 1, 1});
  return torch::where(which, x.flip({3}), x);
}

/// SplitMix64: a well-mixed 64-bit function of its input (Steele et al.), for per-image choices that
/// must not depend on the batch an image is in.
std::uint64_t splitmix64(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// airbench's alternating flip: image i is flipped in epoch e exactly when (e + first_i) is odd,
/// first_i a fixed random bit of the image (from the seed and its place in the split).
torch::Tensor alternate_flip(const torch::Tensor& x, const torch::Tensor& index, std::int64_t epoch,
                             std::uint64_t seed) {
  const auto n = x.size(0);
  auto flipped = torch::empty({n}, torch::kBool);
  const auto idx = index.to(torch::kCPU, torch::kInt64).contiguous();
  const std::int64_t* at = idx.data_ptr<std::int64_t>();
  bool* out = flipped.data_ptr<bool>();
  for (std::int64_t i = 0; i < n; ++i)
    out[i] =
        ((static_cast<std::uint64_t>(epoch) + (splitmix64(seed ^ static_cast<std::uint64_t>(at[i])) & 1)) & 1) != 0;
  return torch::where(there(flipped, x).view({-1, 1, 1, 1}), x.flip({3}), x);
}

/// Zeroes a size×size square centred anywhere in the image (clipped at the border).
torch::Tensor cutout(const torch::Tensor& x, int size, double p, torch::Generator& gen) {
  const auto n = x.size(0), h = x.size(2), w = x.size(3);
  auto cy = there(torch::randint(0, h, {n}, gen).to(torch::kFloat32), x).view({n, 1, 1, 1});
  auto cx = there(torch::randint(0, w, {n}, gen).to(torch::kFloat32), x).view({n, 1, 1, 1});
  auto on = chosen(x, p, gen).view({n, 1, 1, 1});
  auto [r, c] = grid(x);
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
  auto d = there(torch::randint(std::min(dmin, dmax), std::max(dmin, dmax) + 1, {n}, gen).to(torch::kFloat32), x)
               .view({n, 1, 1, 1});
  auto oy = there(torch::rand({n}, gen), x).view({n, 1, 1, 1}) * d;
  auto ox = there(torch::rand({n}, gen), x).view({n, 1, 1, 1}) * d;
  auto angle = there(torch::rand({n}, gen), x).view({n, 1, 1, 1}) * (field(a, "rotate") * M_PI / 180.0);
  auto on = chosen(x, p, gen).view({n, 1, 1, 1});
  auto [r, c] = grid(x);
  r = r - (h - 1) / 2.0;
  c = c - (w - 1) / 2.0;
  auto cos = angle.cos(), sin = angle.sin();
  auto u = cos * r - sin * c + oy, v = sin * r + cos * c + ox;  // rotated coordinates, [N, 1, H, W]
  auto side = d * (1.0 - field(a, "ratio"));
  auto dropped = (torch::remainder(u, d) < side) & (torch::remainder(v, d) < side) & on;
  return x.masked_fill(dropped, 0);
}

}  // namespace

Augmenter::Augmenter(const lang::Val& list, std::uint64_t seed) : seed_(splitmix64(seed ^ 0xF11Full)) {
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
  if (mixers.size() > 1)
    mixer = mixers[torch::randint(0, static_cast<std::int64_t>(mixers.size()), {1}, gen).item<std::int64_t>()];
  for (const lang::Val* a : steps_) {
    const std::string& k = a->str;
    if ((k == "mixup" || k == "cutmix") && a != mixer) continue;
    const auto n = b.x.size(0);
    if (k == "crop") {
      if (const int pad = static_cast<int>(field(*a, "pad")); pad > 0) b.x = crop(b.x, pad, gen), copied = true;
    } else if (k == "translate") {
      if (const int pad = static_cast<int>(field(*a, "pad")); pad > 0)
        b.x = crop(b.x, pad, gen, /*reflect=*/true), copied = true;
    } else if (k == "flip") {
      b.x = flip(b.x, field(*a, "p"), gen), copied = true;
    } else if (k == "alternate_flip") {
      if (!b.index.defined())
        throw std::logic_error("alternate_flip needs each image's place in the split (Batch::index)");
      b.x = alternate_flip(b.x, b.index, static_cast<std::int64_t>(std::floor(progress + 1e-9)), seed_), copied = true;
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
      perm = there(perm, b.x);
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
        const auto cy = static_cast<std::int64_t>(centre[0].item<double>() * h),
                   cx = static_cast<std::int64_t>(centre[1].item<double>() * w);
        const auto y1 = std::clamp<std::int64_t>(cy - ch / 2, 0, h), y2 = std::clamp<std::int64_t>(cy + ch / 2, 0, h);
        const auto x1 = std::clamp<std::int64_t>(cx - cw / 2, 0, w), x2 = std::clamp<std::int64_t>(cx + cw / 2, 0, w);
        b.x.index_put_({Slice(), Slice(), Slice(y1, y2), Slice(x1, x2)},
                       other.index({Slice(), Slice(), Slice(y1, y2), Slice(x1, x2)}));
        b.lam = 1.0 - static_cast<double>((y2 - y1) * (x2 - x1)) / static_cast<double>(h * w);
      }
      b.y_mix = b.y.index_select(0, perm.to(b.y.device()));
    }
  }
}

}  // namespace whittle::runtime::torchrt
