// The checkpoints of caches of format 2 (LibTorch archives: TorchScript zip files), converted once
// into safetensors by `whittle cache upgrade` (runtime/cache/cache_upgrade.h). This is the one place that
// still reads that format, and only for the user's own cache, which the user made: submissions and
// cache packs of that format are refused by name, never loaded.
#pragma once
#include <string>

namespace whittle::runtime::torchrt {

/// Reads the archive at `from` (a model, or an optimizer's state when its name ends in
/// `.optim.pt`) and writes the same tensors and settings at `to` as whittle now writes them.
/// Throws std::runtime_error saying why when `from` is no checkpoint of that format.
void upgrade_legacy_file(const std::string& from, const std::string& to);

}  // namespace whittle::runtime::torchrt
