// LibTorch tensors in and out of safetensors files (runtime/system/safetensors.h): what a model and an
// optimizer are saved as. Reading copies each tensor out of the file's bytes; nothing is executed.
#pragma once
#include <torch/torch.h>

#include <string>

#include "runtime/system/safetensors.h"

namespace whittle::runtime::torchrt {

/// The `format` metadata of whittle's two kinds of tensor file: a model (its parameters `p.NAME`,
/// buffers `b.NAME`, masks `m.NAME`, and JSON metadata `whittle`: quantizers, precision, int8 plan)
/// and an optimizer's state (`param.I.FIELD` tensors, `groups` and `state` metadata).
inline constexpr const char* kModelFileFormat = "whittle-model 1";
inline constexpr const char* kOptimizerFileFormat = "whittle-optimizer 1";

/// Appends a tensor (any device, any layout) to `w` as a CPU tensor in row-major order. Throws
/// std::invalid_argument for an element type safetensors has no name for.
void add_tensor(safetensors::Writer& w, const std::string& name, const torch::Tensor& t);
/// A CPU tensor holding a copy of `info`'s bytes.
torch::Tensor read_tensor(const safetensors::File& f, const safetensors::TensorInfo& info);
/// The tensor named `name`, or an undefined tensor when the file has none.
torch::Tensor read_tensor(const safetensors::File& f, const std::string& name);

}  // namespace whittle::runtime::torchrt
