// `export`: the model as Python sees it: written with torch::pickle_save (readable by torch.load) or
// as a safetensors file (data only), a TorchScript module, or ONNX.
#pragma once
#include <string>
#include <vector>

#include "lang/checked.h"
#include "runtime/torch/data/data.h"
#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

/// A dict with the architecture and its knobs (from the chain's `model` stage), the input shape and
/// normalisation, the layers' channel counts (a slimmed model's own), how each layer was quantized,
/// and a state dict under kuangliu's names holding the weights the layers compute with (quantized
/// values in float32, pruned weights zero), pickled.
std::vector<char> export_bytes(const Net& net, const lang::StageInstance& model_stage, const Dataset& data);
/// The same as a safetensors file (runtime/system/safetensors.h): the state dict's tensors, and the rest as
/// metadata (`arch`, `params`, `input`, `dataset`, `mean`, `std`, `channels`, `quantization`, and
/// `network` for a written network; the lists and dicts as JSON text). Python reads it with
/// safetensors.torch.load_file, or with the 20 lines of docs/interop.md without that package.
std::string safetensors_export_bytes(const Net& net, const lang::StageInstance& model_stage, const Dataset& data);

/// The model as a self-contained TorchScript module (export_torchscript.cc): traced by LibTorch's
/// JIT, its forward taking float NCHW in [0, 1] and applying the data set's normalisation first
/// (unless `normalize` is false, or the data set is not normalised). Throws StageError for a
/// model tracing cannot capture (an int8-converted one).
std::string torchscript_bytes(const Net& net, const Dataset& data, bool normalize);

/// How an export read back from its bytes agrees with whittle's own evaluation of the model on
/// the test set.
struct ExportParity {
  double accuracy = 0;        ///< the file's test accuracy
  double max_logit_diff = 0;  ///< the largest absolute difference of a logit
  double agreement = 0;       ///< the share of test images both predict the same class for
};
ExportParity torchscript_parity(const std::string& bytes, const Net& net, const Dataset& data, bool normalize);

/// The model as ONNX (opset 13; export_onnx.cc), the same input convention, passing onnx's checker;
/// throws StageError naming an operation it cannot write, or when whittle was built without ONNX.
std::string onnx_bytes(const Net& net, const Dataset& data, bool normalize);
/// The ONNX file read by OpenCV's DNN module and evaluated on the test set beside the model.
ExportParity onnx_parity(const std::string& bytes, const Net& net, const Dataset& data, bool normalize);
/// Where an ONNX file written from `net` first computes otherwise: every intermediate output OpenCV
/// gives for the first test images beside the traced graph's own in LibTorch, the first that differs
/// by more than `tolerance` described ("" when none does, or the file is not what `net` writes).
std::string onnx_divergence(const Net& net, const Dataset& data, bool normalize, const std::string& bytes,
                            double tolerance);

}  // namespace whittle::runtime::torchrt
