// Fashion-MNIST (gzipped idx), CIFAR-10 (binary batches) and a synthetic set, with the checks that
// turn a wrong file into a clear error at the recipe's `data` line.
#include "runtime/torch/data/data.h"

#include <fmt/format.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "lang/files.h"
#include "lang/network.h"
#include "runtime/plan/params.h"
#include "runtime/plan/stage.h"

namespace whittle::runtime::torchrt {
namespace {

constexpr std::uintmax_t kMaxCompressed = 512u << 20, kMaxInflated = std::uintmax_t{2} << 30;

/// A gzip file's contents, every member of it; anything after the last member that is not another
/// member (trailing garbage, a second file appended) is an error, as is more than 2 GiB inflated.
std::string read_gz(const std::string& path) {
  std::string error;
  const auto packed = lang::read_regular_file(path, kMaxCompressed, error);
  if (!packed) throw StageError(error);
  std::string out;
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw StageError("zlib cannot start");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed->data()));
  z.avail_in = static_cast<uInt>(packed->size());
  char buf[1 << 16];
  int r = Z_OK;
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    r = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
    if (out.size() > kMaxInflated) r = Z_MEM_ERROR;
    if (r == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      // Another member may follow (concatenated gzip is one file); anything else is not data.
      if (z.avail_in < 2 || z.next_in[0] != 0x1f || z.next_in[1] != 0x8b) {
        inflateEnd(&z);
        throw StageError(
            fmt::format("`{}` has {} bytes of something other than gzip data after its end", path, z.avail_in),
            "the file is damaged or was appended to: download or install it again");
      }
      inflateReset(&z);
      continue;
    }
    if (r != Z_OK || (z.avail_in == 0 && z.avail_out != 0)) break;
  }
  inflateEnd(&z);
  if (r != Z_STREAM_END)
    throw StageError(fmt::format("`{}` is not a whole gzip file ({})", path,
                                 r == Z_MEM_ERROR ? "it inflates to more than 2 GiB" : "damaged or cut short"),
                     "download or install it again");
  return out;
}

std::uint32_t be32(const std::string& s, std::size_t at) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
         static_cast<unsigned char>(s[at + 3]);
}

torch::Tensor idx_images(const std::string& path) {
  const std::string b = read_gz(path);
  if (b.size() < 16 || be32(b, 0) != 0x00000803) throw StageError(fmt::format("`{}` is not an idx image file", path));
  const std::int64_t n = be32(b, 4), h = be32(b, 8), w = be32(b, 12);
  if (n == 0) throw StageError(fmt::format("`{}` holds no images", path));
  if (h != 28 || w != 28)
    throw StageError(fmt::format("`{}` holds images of {}x{}; Fashion-MNIST's are 28x28", path, h, w),
                     "point `root:` at the real Fashion-MNIST files");
  // n < 2^32 and h*w = 784: no overflow in 64 bits.
  if (static_cast<std::int64_t>(b.size()) != 16 + n * h * w)
    throw StageError(
        fmt::format("`{}` has {} bytes, but its header promises {} images of {}x{}", path, b.size(), n, h, w));
  auto t = torch::from_blob(const_cast<char*>(b.data() + 16), {n, 1, h, w}, torch::kUInt8).clone();
  return t.to(torch::kFloat32).div_(255.0);
}

torch::Tensor idx_labels(const std::string& path, std::int64_t expected, int classes) {
  const std::string b = read_gz(path);
  if (b.size() < 8 || be32(b, 0) != 0x00000801) throw StageError(fmt::format("`{}` is not an idx label file", path));
  const std::int64_t n = be32(b, 4);
  if (n == 0) throw StageError(fmt::format("`{}` holds no labels", path));
  if (n != expected || static_cast<std::int64_t>(b.size()) != 8 + n)
    throw StageError(fmt::format("`{}` holds {} labels, but there are {} images", path, n, expected));
  auto t = torch::from_blob(const_cast<char*>(b.data() + 8), {n}, torch::kUInt8).clone().to(torch::kInt64);
  if (t.max().item<std::int64_t>() >= classes)
    throw StageError(fmt::format("`{}` has a label outside 0..{}", path, classes - 1));
  return t;
}

void cifar_file(const std::string& path, std::vector<torch::Tensor>& xs, std::vector<torch::Tensor>& ys) {
  constexpr std::int64_t kRecord = 3073, kRecords = 10000;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size != static_cast<std::uintmax_t>(kRecord * kRecords))
    throw StageError(fmt::format("`{}` has {} bytes; a CIFAR-10 batch has {} ({} records of {})", path, ec ? 0 : size,
                                 kRecord * kRecords, kRecords, kRecord),
                     "re-extract the official cifar-10-binary.tar.gz");
  std::string error;
  auto read = lang::read_regular_file(path, static_cast<std::uintmax_t>(kRecord * kRecords), error);
  if (!read) throw StageError(error, "make the data files readable by you (`chmod a+r FILE`)");
  std::string& b = *read;
  if (b.size() != static_cast<std::size_t>(kRecord * kRecords))
    throw StageError(
        fmt::format("`{}` could be read only in part ({} of {} bytes)", path, b.size(), kRecord * kRecords));
  auto raw = torch::from_blob(b.data(), {kRecords, kRecord}, torch::kUInt8).clone();
  auto labels = raw.select(1, 0).to(torch::kInt64);
  if (labels.max().item<std::int64_t>() > 9) {
    const auto bad = (labels > 9).nonzero()[0][0].item<std::int64_t>();
    throw StageError(fmt::format("`{}` record {} has label byte {}, but CIFAR-10 labels are 0-9", path, bad,
                                 labels[bad].item<std::int64_t>()));
  }
  xs.push_back(raw.slice(1, 1).reshape({kRecords, 3, 32, 32}).to(torch::kFloat32).div_(255.0));
  ys.push_back(labels);
}

void normalize(Dataset& d, const std::vector<double>& mean, const std::vector<double>& std) {
  d.mean = mean;
  d.std = std;
  auto m = torch::tensor(mean).to(torch::kFloat32).view({1, -1, 1, 1});
  auto s = torch::tensor(std).to(torch::kFloat32).view({1, -1, 1, 1});
  d.train_x.sub_(m).div_(s);  // in place: no second copy of the training set at the peak
  d.test_x.sub_(m).div_(s);
}

/// A learnable synthetic task: each class is a fixed random 1x12x12 pattern; images are a
/// pattern plus noise. Tiny and fast, for tests.
Dataset synthetic(std::int64_t n, std::uint64_t seed) {
  Dataset d;
  d.name = "synthetic";
  d.classes = 4;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto patterns = torch::randn({4, 1, 12, 12}, gen);
  auto make = [&](std::int64_t count, torch::Tensor& x, torch::Tensor& y) {
    y = torch::randint(0, 4, {count}, gen);
    x = patterns.index_select(0, y) + 0.8 * torch::randn({count, 1, 12, 12}, gen);
  };
  make(n, d.train_x, d.train_y);
  make(std::max<std::int64_t>(n / 4, 64), d.test_x, d.test_y);
  return d;
}

}  // namespace

Shape dataset_shape(const lang::StageInstance& s) {
  const lang::net::Input in = lang::net::dataset_input(Params(s).word("dataset"));
  return {in.shape.c, in.shape.h, in.shape.w, in.classes};
}

Dataset load_dataset(const lang::StageInstance& s, const DataFiles& files) {
  const Params params(s);
  Dataset d;
  const std::string name = files.dataset;
  if (name == "synthetic") {
    d = synthetic(params.count("size"), static_cast<std::uint64_t>(s.seed) + 1234);
  } else if (name == "fashion_mnist") {
    d.name = name;
    d.train_x = idx_images(files.files[0]);
    d.train_y = idx_labels(files.files[1], d.train_x.size(0), 10);
    d.test_x = idx_images(files.files[2]);
    d.test_y = idx_labels(files.files[3], d.test_x.size(0), 10);
    if (params.flag("normalize")) normalize(d, {0.2860}, {0.3530});
  } else if (name == "cifar10") {
    d.name = name;
    std::vector<torch::Tensor> xs, ys, tx, ty;
    for (std::size_t i = 0; i < 5; ++i) cifar_file(files.files[i], xs, ys);
    cifar_file(files.files[5], tx, ty);
    d.train_x = torch::cat(xs);
    d.train_y = torch::cat(ys);
    d.test_x = tx[0];
    d.test_y = ty[0];
    if (params.flag("normalize")) normalize(d, {0.4914, 0.4822, 0.4465}, {0.2023, 0.1994, 0.2010});
  } else {
    throw StageError(fmt::format("unknown data set `{}`", name));
  }
  // One seeded shuffle of the training set: the validation share is held out first, then the
  // subset is taken from the rest, so a smaller subset never leaks validation images into training.
  const auto subset = params.count("subset");
  const double val_share = params.fraction("validation");
  if (subset > 0 || val_share > 0) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<std::uint64_t>(s.seed) + 99);
    const std::int64_t n = d.train_x.size(0);
    auto perm = torch::randperm(n, gen);
    const auto n_val = static_cast<std::int64_t>(std::llround(val_share * static_cast<double>(n)));
    if (n_val > 0) {
      if (n_val >= n) throw StageError(fmt::format("`validation: {}%` leaves no training images", 100 * val_share));
      auto idx = perm.slice(0, 0, n_val);
      d.val_x = d.train_x.index_select(0, idx);
      d.val_y = d.train_y.index_select(0, idx);
    }
    auto rest = perm.slice(0, n_val);
    if (subset > 0 && subset < rest.size(0)) rest = rest.slice(0, 0, subset);
    d.train_x = d.train_x.index_select(0, rest);
    d.train_y = d.train_y.index_select(0, rest);
  }
  // A seeded subset of the test set: for smoke runs and quick looks, never for a reported number.
  d.test_total = d.test_x.size(0);
  std::tie(d.test_x, d.test_y) =
      seeded_slice(d.test_x, d.test_y, params.count("test_subset"), static_cast<std::uint64_t>(s.seed));
  return d;
}

std::pair<torch::Tensor, torch::Tensor> seeded_slice(const torch::Tensor& x, const torch::Tensor& y, std::int64_t n,
                                                     std::uint64_t seed) {
  if (n <= 0 || n >= x.size(0)) return {x, y};
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed + 77);
  const auto keep = torch::randperm(x.size(0), gen).slice(0, 0, n);
  return {x.index_select(0, keep), y.index_select(0, keep)};
}

std::pair<torch::Tensor, torch::Tensor> Dataset::train_on(torch::Device device) {
  if (device.is_cpu() || train_x.nbytes() + train_y.nbytes() > static_cast<std::size_t>(kResidentBytes))
    return {train_x, train_y};
  auto at = resident_.find(device.str());
  if (at == resident_.end())
    at = resident_.emplace(device.str(), std::make_pair(train_x.to(device), train_y.to(device))).first;
  return at->second;
}

}  // namespace whittle::runtime::torchrt
