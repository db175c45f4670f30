// LibTorch tensors in safetensors files (tensor_file.h).
#include "runtime/torch/models/tensor_file.h"

#include <fmt/format.h>

#include <cstring>
#include <stdexcept>

namespace whittle::runtime::torchrt {

namespace st = safetensors;

namespace {

struct Pair {
  torch::ScalarType torch;
  st::DType file;
};
constexpr Pair kTypes[] = {{torch::kDouble, st::DType::F64}, {torch::kFloat, st::DType::F32},
                           {torch::kHalf, st::DType::F16},   {torch::kBFloat16, st::DType::BF16},
                           {torch::kLong, st::DType::I64},   {torch::kInt, st::DType::I32},
                           {torch::kShort, st::DType::I16},  {torch::kChar, st::DType::I8},
                           {torch::kByte, st::DType::U8},    {torch::kBool, st::DType::BOOL}};

}  // namespace

void add_tensor(st::Writer& w, const std::string& name, const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kCPU).contiguous();
  for (const auto& p : kTypes) {
    if (p.torch != c.scalar_type()) continue;
    w.add(name, p.file, c.sizes().vec(), c.data_ptr(), static_cast<std::size_t>(c.numel()) * c.element_size());
    return;
  }
  throw std::invalid_argument(fmt::format("the tensor `{}` is of type {}, which a safetensors file cannot hold", name,
                                          c10::toString(c.scalar_type())));
}

torch::Tensor read_tensor(const st::File& f, const st::TensorInfo& info) {
  torch::ScalarType type = torch::kFloat;
  for (const auto& p : kTypes)
    if (p.file == info.dtype) type = p.torch;
  auto t = torch::empty(info.shape, torch::TensorOptions().dtype(type));
  const auto bytes = f.data(info);
  // The file's reader checked that the bytes are exactly the shape's (safetensors.cc); this is the
  // one copy out of them.
  if (bytes.size() != static_cast<std::size_t>(t.numel()) * t.element_size())
    throw std::logic_error("a tensor of the wrong size");
  if (!bytes.empty()) std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  return t;
}

torch::Tensor read_tensor(const st::File& f, const std::string& name) {
  const auto* info = f.find(name);
  return info ? read_tensor(f, *info) : torch::Tensor();
}

}  // namespace whittle::runtime::torchrt
