// A runner that writes one small file per stage instead of training, and a scratch folder that plans
// and runs recipes with it against a cache of its own: the cache's tests without LibTorch.
#pragma once
#include <unistd.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "lang/analyze.h"
#include "runtime/exec/executor.h"
#include "runtime/exec/run_finish.h"
#include "runtime/plan/plan.h"
#include "runtime/plan/stages.h"

namespace whittle::test {
namespace fs = std::filesystem;
using namespace whittle::runtime;

/// Writes one small file per stage and remembers what ran; can be told to fail a stage kind.
struct FakeRunner : StageRunner {
  std::vector<std::string> ran;
  std::string fail_kind;
  void run(StageJob& job) override {
    if (job.stage.kind == fail_kind)
      throw StageError("the loss became nan at epoch 2, batch 7", "lower the learning rate");
    ran.push_back("#" + std::to_string(job.stage.id) + " " + job.stage.kind);
    std::ofstream(fs::path(job.out_dir) / "model.pt") << "weights of " << job.key << "\n";
    job.metrics["accuracy"] = 0.5;
  }
};

struct Quiet : Progress {};

struct Fixture {
  fs::path dir;
  Fixture() {
    char tmpl[] = "/tmp/whittle-cache-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~Fixture() { fs::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  }
  std::unique_ptr<Plan> plan(const std::string& file) {
    store = std::make_unique<ArtifactStore>((dir / cache).string());
    auto p = make_plan(lang::analyze_file(file), *store);
    REQUIRE_FALSE(p->analysis->diags.has_errors());
    return p;
  }
  /// Plans and runs; returns the stages that ran.
  std::vector<std::string> run(const std::string& file, ExecResult* out = nullptr) {
    auto p = plan(file);
    FakeRunner r;
    r.fail_kind = fail_kind;
    Quiet q;
    auto res = execute(*p, *store, r, q);
    write_record(execution_record(*p, res), p->record_path);
    if (out) *out = res;
    return r.ran;
  }
  std::unique_ptr<ArtifactStore> store;
  std::string fail_kind;
  std::string cache = "cache";  ///< the cache folder, under `dir`
};

}  // namespace whittle::test
