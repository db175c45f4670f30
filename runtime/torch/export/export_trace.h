// Internal to the exports (export_torchscript.cc, export_onnx.cc): the model traced by LibTorch's
// JIT into a TorchScript module, and the parity measurement both exports run on the file they wrote.
#pragma once
#include <torch/script.h>

#include <functional>

#include "runtime/torch/export/export.h"

namespace whittle::runtime::torchrt {

/// The model's forward traced into a module whose attributes are its parameters and buffers (under
/// whittle's module names), taking float NCHW in [0, 1] and normalising first when `normalize`
/// and the data set is normalised.
torch::jit::Module traced_module(const Net& net, const Dataset& data, bool normalize);

/// Runs the test set through `run` (which gets the images as the export takes them) and through
/// the model, batch by batch, and compares.
ExportParity measure_parity(const Net& net, const Dataset& data, bool normalize,
                            const std::function<torch::Tensor(const torch::Tensor&)>& run);

}  // namespace whittle::runtime::torchrt
