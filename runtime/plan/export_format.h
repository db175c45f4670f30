// Which file an `export` stage writes (docs/interop.md, "Models in and out of PyTorch"): its
// `format:`, or by the path's extension when `auto` (`.onnx` → onnx, `.safetensors` → safetensors,
// else the torch.load-able state dict). No LibTorch: the run's end delivers the file from the cache entry by this name.
#pragma once
#include <string>

#include "lang/checked.h"

namespace whittle::runtime {

enum class ExportFormat { StateDict, Safetensors, TorchScript, Onnx };

ExportFormat export_format(const lang::StageInstance& export_stage);
/// The file in the stage's cache entry: export.pt, export.safetensors, export.ts.pt or export.onnx.
std::string export_entry_file(const lang::StageInstance& export_stage);

}  // namespace whittle::runtime
