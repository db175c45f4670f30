// What whittle needs of LibTorch, as one table of functions. The `whittle` program does not link
// LibTorch: the module that fills this table (libwhittle_torch.so, runtime/torch/module.cc) is
// loaded on first need, so the commands that need no tensors (lint, check, fmt, doc, plan without
// preview, cache, and a run whose every stage is cached) start in milliseconds (docs/architecture.md,
// "Cold start"). This header is torch-free.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/plan/plan.h"
#include "runtime/plan/stage.h"
#include "runtime/torch/export/inspect.h"
#include "runtime/torch/stages/preview.h"

namespace whittle::runtime {

/// Bump when TorchApi or a type it passes changes: a module of another version is refused.
constexpr int kTorchApiVersion = 5;

struct TorchApi {
  int api_version = kTorchApiVersion;
  const char* whittle_version = "";
  std::unique_ptr<StageRunner> (*make_runner)(int threads) = nullptr;
  std::map<int, torchrt::StagePreview> (*preview_plan)(const Plan& plan) = nullptr;
  std::vector<torchrt::LayerStats> (*stage_layers)(const Plan& plan, int stage_id,
                                                   const std::string& entry_dir) = nullptr;
  std::map<std::string, double> (*recompute_claims)(const Plan& plan, int stage_id, const std::string& entry_dir,
                                                    int evaluate_stage) = nullptr;
  std::map<std::string, double> (*recompute_export)(const Plan& plan, int export_stage,
                                                    const std::string& model_entry_dir,
                                                    const std::string& bytes) = nullptr;
  torchrt::WeightHistogram (*weight_histogram)(const Plan& plan, int stage_id, const std::string& entry_dir, double lo,
                                               double hi, int bins) = nullptr;
  /// Converts one checkpoint of a format-2 cache into safetensors (`whittle cache upgrade`).
  void (*upgrade_legacy_file)(const std::string& from, const std::string& to) = nullptr;
};

/// The module's table, loaded on the first call: from $WHITTLE_TORCH_MODULE, else beside the
/// running program. Throws std::runtime_error saying what to do when it cannot be loaded.
const TorchApi& torch_api();

/// True once the module is loaded (tests check that a cached run never loads it).
bool torch_loaded();

/// A runner that loads the module when its first stage runs: a run whose every stage is cached
/// never loads LibTorch.
std::unique_ptr<StageRunner> lazy_torch_runner(int threads);

/// The LibTorch this build was configured with ("1.13.1"), known without loading it; "none"
/// when configured without LibTorch.
std::string libtorch_version();

}  // namespace whittle::runtime
