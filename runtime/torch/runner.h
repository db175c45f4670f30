// The LibTorch stage runner. This header is torch-free: the CLI creates the runner through it.
#pragma once
#include <memory>
#include <string>

#include "runtime/executor.h"

namespace whittle::runtime {

/// A runner that executes stages with LibTorch on the CPU with `threads` intra-op threads.
std::unique_ptr<StageRunner> make_torch_runner(int threads);
/// "1.13.1" — for the run record.
std::string libtorch_version();

}  // namespace whittle::runtime
