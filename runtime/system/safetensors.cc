// The safetensors format (safetensors.h).
#include "runtime/system/safetensors.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

#include "lang/files.h"

namespace whittle::runtime::safetensors {

namespace {

struct DTypeName {
  DType type;
  const char* name;
  std::size_t size;
};
constexpr DTypeName kDTypes[] = {{DType::F64, "F64", 8},   {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
                                 {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
                                 {DType::I16, "I16", 2},   {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
                                 {DType::BOOL, "BOOL", 1}};

/// The deepest nesting of `{`/`[` in a JSON text, strings skipped: the header is two levels deep
/// (three with a shape), and a deeper one is refused before it is parsed.
int nesting(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

std::uint64_t read_le64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void write_le64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

TensorInfo read_entry(const std::string& name, const nlohmann::json& e, const Limits& limits) {
  if (!e.is_object()) throw FormatError(fmt::format("the tensor `{}` is not described by an object", name));
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!e.contains(field)) throw FormatError(fmt::format("the tensor `{}` has no `{}`", name, field));
  TensorInfo t;
  t.name = name;
  const auto& dtype = e.at("dtype");
  const auto* found = dtype.is_string()
                          ? std::find_if(std::begin(kDTypes), std::end(kDTypes),
                                         [&](const DTypeName& d) { return dtype.get<std::string>() == d.name; })
                          : std::end(kDTypes);
  if (found == std::end(kDTypes))
    throw FormatError(fmt::format("the tensor `{}` has the dtype {}, which whittle does not read", name, dtype.dump()));
  t.dtype = found->type;
  const auto& shape = e.at("shape");
  if (!shape.is_array() || shape.size() > limits.max_rank)
    throw FormatError(fmt::format("the tensor `{}` has no shape of at most {} dimensions", name, limits.max_rank));
  std::uint64_t bytes = found->size;
  for (const auto& d : shape) {
    if (!d.is_number_unsigned())
      throw FormatError(fmt::format("the tensor `{}` has a shape that is not a list of sizes", name));
    const std::uint64_t n = d.get<std::uint64_t>();
    // Every size is bounded by the file (checked below); this only keeps the product from overflowing.
    if (n != 0 && bytes > limits.max_file / n)
      throw FormatError(fmt::format("the tensor `{}` declares more bytes than the file may hold", name));
    bytes *= n;
    t.shape.push_back(static_cast<std::int64_t>(n));
  }
  const auto& off = e.at("data_offsets");
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
    throw FormatError(fmt::format("the tensor `{}` has no `data_offsets` pair", name));
  t.begin = off[0].get<std::uint64_t>();
  t.end = off[1].get<std::uint64_t>();
  if (t.end < t.begin || t.end - t.begin != bytes)
    throw FormatError(fmt::format("the tensor `{}` has {} bytes of data where its shape and dtype need {}", name,
                                  t.end < t.begin ? 0 : t.end - t.begin, bytes));
  return t;
}

}  // namespace

const char* dtype_name(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.name;
  return "?";
}

std::size_t dtype_size(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.size;
  return 0;
}

const TensorInfo* File::find(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

std::string_view File::data(const TensorInfo& t) const {
  return std::string_view(bytes_).substr(data_start_ + t.begin, t.end - t.begin);
}

std::string File::meta(const std::string& key, const std::string& fallback) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? fallback : it->second;
}

namespace {

/// The header's tensors (sorted by offset, tiling `data_size` bytes exactly) and metadata.
void parse_header(std::string_view header, std::uint64_t data_size, const Limits& limits,
                  std::vector<TensorInfo>& tensors, std::map<std::string, std::string>& metadata) {
  if (header.empty() || header.front() != '{')
    throw FormatError("its header is not a JSON object (it may be a file of another format)");
  if (nesting(header) > 3) throw FormatError("its header nests deeper than a safetensors header does");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const std::exception& e) {
    throw FormatError(fmt::format("its header is not JSON ({})", e.what()));
  }
  if (!j.is_object()) throw FormatError("its header is not a JSON object");
  if (j.size() > limits.max_tensors + 1)
    throw FormatError(fmt::format("it holds more than {} tensors", limits.max_tensors));
  for (const auto& [name, e] : j.items()) {
    if (name == "__metadata__") {
      if (!e.is_object()) throw FormatError("its `__metadata__` is not an object");
      for (const auto& [k, v] : e.items()) {
        if (!v.is_string()) throw FormatError(fmt::format("its metadata `{}` is not text", k));
        metadata[k] = v.get<std::string>();
      }
      continue;
    }
    tensors.push_back(read_entry(name, e, limits));
  }
  // The tensors tile the data: sorted by offset, each begins where the one before ended, and the
  // last ends where the file does. So no tensor lies outside the file or shares another's bytes.
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t at = 0;
  for (const auto& t : tensors) {
    if (t.begin != at)
      throw FormatError(fmt::format("the tensor `{}` does not begin where the one before it ends", t.name));
    at = t.end;
  }
  if (at != data_size)
    throw FormatError(fmt::format("its tensors hold {} bytes and the file has {} after its header", at, data_size));
}

/// The header's length from the file's first 8 bytes, checked against the bounds and the file's size.
std::uint64_t header_length(const char* first8, std::uint64_t file_size, const Limits& limits) {
  if (file_size > limits.max_file) throw FormatError(fmt::format("it is larger than {} bytes", limits.max_file));
  if (file_size < 8) throw FormatError("it is too short to be a safetensors file");
  const std::uint64_t n = read_le64(first8);
  if (n > limits.max_header)
    throw FormatError(fmt::format("its header declares {} bytes, more than the {} allowed", n, limits.max_header));
  if (n > file_size - 8)
    throw FormatError(fmt::format("its header declares {} bytes, and the file ends after {}", n, file_size - 8));
  return n;
}

}  // namespace

File parse(std::string bytes, const Limits& limits) {
  const std::uint64_t n = header_length(bytes.data(), bytes.size(), limits);
  File f;
  f.data_start_ = 8 + n;
  parse_header(std::string_view(bytes.data() + 8, n), bytes.size() - f.data_start_, limits, f.tensors_, f.metadata_);
  f.bytes_ = std::move(bytes);
  return f;
}

std::string StreamCheck::feed(const char* data, std::size_t n) {
  std::size_t off = 0;
  try {
    while (!done_ && off < n) {
      const std::size_t target = need_ ? need_ : 8;
      const std::size_t take = std::min(n - off, target - head_.size());
      head_.append(data + off, take);
      off += take;
      if (head_.size() < target) break;
      if (!need_) {  // the first 8 bytes: the header's length
        need_ = 8 + header_length(head_.data(), size_, limits_);
        continue;
      }
      std::vector<TensorInfo> tensors;
      std::map<std::string, std::string> metadata;
      parse_header(std::string_view(head_).substr(8), size_ - need_, limits_, tensors, metadata);
      done_ = true;
      head_.clear();
    }
  } catch (const FormatError& e) {
    done_ = true;
    why_ = e.what();
  }
  return why_;
}

std::string StreamCheck::finish() {
  if (!done_ && why_.empty()) why_ = "it ends inside its header";
  return why_;
}

File read_file(const std::string& path, const Limits& limits) {
  std::string error;
  auto bytes = lang::read_regular_file(path, limits.max_file, error);
  if (!bytes) throw FormatError(error);
  try {
    return parse(std::move(*bytes), limits);
  } catch (const FormatError& e) {
    throw FormatError(fmt::format("`{}` is not a valid safetensors file: {}", path, e.what()));
  }
}

void Writer::add(const std::string& name, DType dtype, const std::vector<std::int64_t>& shape, const void* data,
                 std::size_t size) {
  TensorInfo t;
  t.name = name;
  t.dtype = dtype;
  t.shape = shape;
  t.begin = data_.size();
  data_.append(static_cast<const char*>(data), size);
  t.end = data_.size();
  tensors_.push_back(std::move(t));
}

std::string Writer::bytes() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& t : tensors_)
    j[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
  if (!metadata_.empty()) j["__metadata__"] = metadata_;
  std::string header = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  header.append((8 - header.size() % 8) % 8, ' ');  // the data begins 8-aligned
  std::string out;
  out.reserve(8 + header.size() + data_.size());
  write_le64(out, header.size());
  out += header;
  out += data_;
  return out;
}

}  // namespace whittle::runtime::safetensors
