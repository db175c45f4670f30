// Tensors as data: the safetensors format (docs/architecture.md, "Decisions that hold it together",
// 15: checkpoints are data), read and written without LibTorch. A file is an 8-byte little-endian header length N, N
// bytes of JSON
//   {"NAME": {"dtype": "F32", "shape": [64, 3, 3, 3], "data_offsets": [BEGIN, END]}, ...,
//    "__metadata__": {"KEY": "TEXT", ...}}
// padded with spaces, then the tensors' bytes. Reading runs nothing: it checks that every tensor's
// bytes lie in the file, that their size is its shape times its element size, and that the tensors
// tile the data without gaps or overlaps (as the format's own reader does), so nothing a file
// declares can make whittle allocate more than the file's own size. Every cache entry, epoch
// checkpoint, submission and cache pack holds its model and optimizer this way.
#pragma once
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace whittle::runtime::safetensors {

/// A file that is not a valid safetensors file, or breaks a bound; what() says why.
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };
const char* dtype_name(DType t);
std::size_t dtype_size(DType t);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;  ///< offsets into the data, after the header
};

/// What a reader accepts. The defaults hold the largest model of the course (VGG19 in float,
/// 80 MB) many times over; a grader's tool can pass smaller ones.
struct Limits {
  std::uint64_t max_file = std::uint64_t{4} << 30;
  std::uint64_t max_header = std::uint64_t{64} << 20;
  std::size_t max_tensors = 1u << 20;
  std::size_t max_rank = 8;
};

/// A parsed file: its tensors in the order of their data, its metadata, and the bytes they point into.
class File {
 public:
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  /// The tensor named `name`, or nullptr.
  const TensorInfo* find(const std::string& name) const;
  /// The raw little-endian bytes of a tensor of this file.
  std::string_view data(const TensorInfo& t) const;
  /// A metadata value, or `fallback`.
  std::string meta(const std::string& key, const std::string& fallback = "") const;

 private:
  friend File parse(std::string bytes, const Limits& limits);
  std::string bytes_;
  std::size_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

/// Parses and checks `bytes` (a whole file). Throws FormatError.
File parse(std::string bytes, const Limits& limits = {});
/// Reads a regular file of at most limits.max_file bytes and parses it. Throws FormatError, whose
/// message names the path.
File read_file(const std::string& path, const Limits& limits = {});

/// Checks a file of `size` bytes as its bytes stream in (a cache pack being unpacked): as soon as its
/// header has arrived it must parse and describe exactly `size` bytes, so a file that is no
/// safetensors file (or declares other sizes) is refused before its data is written.
class StreamCheck {
 public:
  explicit StreamCheck(std::uint64_t size, Limits limits = {}) : size_(size), limits_(limits) {}
  /// The next bytes; returns why the file is refused, or "" (so far, fine).
  std::string feed(const char* data, std::size_t n);
  /// After the last bytes: why the file is refused, or "".
  std::string finish();

 private:
  std::uint64_t size_;
  Limits limits_;
  std::string head_, why_;
  std::size_t need_ = 0;  ///< 8 + the header's length, once known
  bool done_ = false;
};

/// Builds a file: tensors in the order added, metadata; the bytes are the same for the same input.
class Writer {
 public:
  /// `data` holds `size` bytes: the tensor's elements in row-major order, little-endian.
  void add(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape, const void* data,
           std::size_t size);
  void meta(const std::string& key, const std::string& value) { metadata_[key] = value; }
  std::string bytes() const;

 private:
  std::vector<TensorInfo> tensors_;
  std::string data_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace whittle::runtime::safetensors
