// `model torchscript path: P` (docs/interop.md): a module scripted in PyTorch, run by LibTorch's JIT,
// as a whittle net. Its parameters and buffers are mirrored by whittle modules of the same names
// (conv and linear layers as whittle's Conv and Linear, BatchNorm2d as its BN) that own the very
// tensors the scripted forward reads, so training, masks, checkpoints, profiling and scores work on
// it as on a built-in model; weight quantizers are applied by handing the scripted layer the
// quantized weight for each forward pass.
#pragma once
#include <memory>
#include <string>

#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

/// Loads the scripted module at `path` for images of `shape` (its forward run once on zeros: it must
/// return [1, classes] logits), with the channel groups its graph shows. Throws StageError with what
/// to do when the file does not load or the module does not fit the data.
std::shared_ptr<NetImpl> load_script_net(const std::string& path, const Shape& shape);

}  // namespace whittle::runtime::torchrt
