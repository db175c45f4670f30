// The LibTorch stage runner. This header is torch-free: the module (module.cc) hands it to the
// program through torch/api.h.
#pragma once
#include <memory>
#include <string>

#include "runtime/plan/stage.h"

namespace whittle::runtime {

/// A runner that executes stages with LibTorch on the CPU with `threads` intra-op threads.
std::unique_ptr<StageRunner> make_torch_runner(int threads);

}  // namespace whittle::runtime
