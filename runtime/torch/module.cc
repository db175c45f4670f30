// The LibTorch module's one entry point: the table of api.h, filled from the runner, the
// preview and the inspection of checkpoints. The `whittle` program loads this file's library on
// first need.
#include <torch/torch.h>

#include <cstdlib>
#include <string>

#include "runtime/torch/api.h"
#include "runtime/torch/export/inspect.h"
#include "runtime/torch/models/legacy_file.h"
#include "runtime/torch/stages/preview.h"
#include "runtime/torch/stages/runner.h"

#ifndef WHITTLE_VERSION
#define WHITTLE_VERSION "0"
#endif

extern "C" __attribute__((visibility("default"))) const whittle::runtime::TorchApi* whittle_torch_api() {
  using namespace whittle::runtime;
  static const TorchApi api = [] {
    TorchApi a;
    a.whittle_version = WHITTLE_VERSION;
    a.make_runner = &make_torch_runner;
    // WHITTLE_PREVIEW=libtorch: every stage on a LibTorch model, no counts (docs/search.md; the bench compares the
    // two).
    a.preview_plan = [](const Plan& plan) {
      const char* how = std::getenv("WHITTLE_PREVIEW");
      return torchrt::preview_plan(plan, !how || std::string(how) != "libtorch");
    };
    a.stage_layers = &torchrt::stage_layers;
    a.recompute_claims = &torchrt::recompute_claims;
    a.recompute_export = &torchrt::recompute_export;
    a.weight_histogram = &torchrt::weight_histogram;
    a.upgrade_legacy_file = &torchrt::upgrade_legacy_file;
    return a;
  }();
  return &api;
}
