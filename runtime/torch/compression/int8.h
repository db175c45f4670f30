// Realised int8 inference (`convert`): conv layers run LibTorch's quantized kernels (oneDNN or
// QNNPACK, through the dispatcher: the C++ API has no quantized modules), with each conv's following
// BatchNorm folded into its weights and a following ReLU fused into the kernel. Weights are int8 per
// output channel; activations are quantized per tensor to 7 bits (oneDNN is exact only with 7-bit
// activations: docs/libtorch-notes.md), from ranges calibrated on training batches. Between convs the
// activations are float again (residual adds, concatenations, pooling and the linear layer stay
// float), so every architecture converts without rewriting its forward pass.
//
// The conversion is kept as a plan (JSON in the checkpoint's meta: per conv its folded BN, fused
// ReLU and activation ranges) next to the float weights, and the kernels are rebuilt from the two
// when the model is loaded.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

/// Converts `net` (on the CPU) for `engine` ("onednn" or "qnnpack"): traces the forward pass of the
/// first batch to find conv → BN → ReLU chains, and takes the activation ranges over all `batches`.
/// Returns the number of converted convs.
int convert_int8(Net& net, const std::string& engine, const std::vector<torch::Tensor>& batches);

/// Rebuilds the int8 kernels of a loaded net from `net.int8` (the plan convert_int8 stored).
void apply_int8(Net& net);

/// True when `engine` is available in this LibTorch build.
bool int8_engine_available(const std::string& engine);

}  // namespace whittle::runtime::torchrt
