// Every shipped pipeline runs end to end on the CPU, shrunk by the `--set` overrides its header
// documents ("# Smoke run (CPU, what CI runs): ..."), on slices of the real CIFAR-10 and
// Fashion-MNIST; and each one's report is drawn. The full runs are for a GPU (docs/pipelines.md).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tests/cli/helpers.h"

using namespace whittle::test;
namespace fs = std::filesystem;

namespace {

/// The `--set` overrides a pipeline's header gives for its smoke run.
std::string smoke_sets(const fs::path& recipe) {
  std::ifstream in(recipe);
  const std::string marker = "# Smoke run (CPU, what CI runs): ";
  for (std::string line; std::getline(in, line);)
    if (line.rfind(marker, 0) == 0) return line.substr(marker.size());
  return "";
}

void smoke(const std::string& name) {
  const fs::path recipe = fs::path(WHITTLE_SOURCE_DIR) / "pipelines" / (name + ".recipe");
  const std::string sets = smoke_sets(recipe);
  INFO(recipe);
  REQUIRE(!sets.empty());
  const fs::path data = fs::path(WHITTLE_SOURCE_DIR) / ".." / "shared" / "data";
  if (!fs::exists(data / "cifar-10-batches-bin")) {
    WHITTLE_SKIP("no CIFAR-10 at " << data);
  }
  Scratch s;
  const std::string env = "WHITTLE_DATA=" + data.string() + " ";
  const std::string cache = " --cache " + (s.dir / "cache").string() + " ";
  // Lint clean as shipped, and with the overrides.
  CHECK(run_whittle("lint --deny-warnings " + recipe.string()).code == 0);
  // From a scratch folder: what a pipeline exports (relative to the current folder) lands there.
  const Result r = run_whittle_cmd("cd " + s.dir.string() + " && " + env + WHITTLE_BIN +
                                   " run --threads 2 --format json" + cache + sets + " " + recipe.string());
  INFO(r.out);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find("{\n")));
  int evaluated = 0;
  for (const auto& st : j["stages"]) {
    // A search's candidates that its strategy did not need are skipped; everything else ran or was cached.
    const bool candidate = st["where"].get<std::string>().rfind("search ", 0) == 0;
    CHECK((st["status"] == "ran" || st["status"] == "cached" || (candidate && st["status"] == "skipped")));
    if (st["metrics"].contains("accuracy")) {
      ++evaluated;
      CHECK(st["metrics"]["accuracy"].get<double>() >= 0);
    }
  }
  CHECK(evaluated > 0);
  // The report of the run, tables and plots.
  const Result rep = run_whittle_cmd(env + WHITTLE_BIN + " report" + cache + sets + " -o " +
                                     (s.dir / "report").string() + " " + recipe.string());
  INFO(rep.out);
  CHECK(fs::exists(s.dir / "report" / "results.md"));
  if (run_whittle_cmd("gnuplot --version").code == 0) CHECK(fs::exists(s.dir / "report" / "accuracy_vs_score.svg"));
}

}  // namespace

TEST_CASE("pipeline smoke run: quickstart", "[pipelines]") { smoke("quickstart"); }
TEST_CASE("pipeline smoke run: cifar10_fast", "[pipelines]") { smoke("cifar10_fast"); }
TEST_CASE("pipeline smoke run: densenet_b_lrr", "[pipelines]") { smoke("densenet_b_lrr"); }
TEST_CASE("pipeline smoke run: resnet9_gridmask_kmeans", "[pipelines]") { smoke("resnet9_gridmask_kmeans"); }
TEST_CASE("pipeline smoke run: densenet_nano_distill", "[pipelines]") { smoke("densenet_nano_distill"); }
TEST_CASE("pipeline smoke run: resnet18_prune_sweep", "[pipelines]") { smoke("resnet18_prune_sweep"); }
TEST_CASE("pipeline smoke run: lab_pruning_methods", "[pipelines]") { smoke("lab_pruning_methods"); }
TEST_CASE("pipeline smoke run: resnet18_gpu_quick", "[pipelines]") { smoke("resnet18_gpu_quick"); }
TEST_CASE("pipeline smoke run: densenet_b3_lrr", "[pipelines]") { smoke("densenet_b3_lrr"); }
TEST_CASE("pipeline smoke run: densenet_nano_grouped", "[pipelines]") { smoke("densenet_nano_grouped"); }
TEST_CASE("pipeline smoke run: pytorch_to_onnx", "[pipelines]") { smoke("pytorch_to_onnx"); }
TEST_CASE("pipeline smoke run: cifar10_90_cpu", "[pipelines][airbench]") { smoke("cifar10_90_cpu"); }
TEST_CASE("pipeline smoke run: course_search", "[pipelines][search]") { smoke("course_search"); }
TEST_CASE("pipeline smoke run: airbench94", "[pipelines][airbench]") { smoke("airbench94"); }
TEST_CASE("pipeline smoke run: course_cpu", "[pipelines][airbench]") { smoke("course_cpu"); }

TEST_CASE("every shipped pipeline has a smoke run in its header", "[pipelines]") {
  for (const auto& e : fs::directory_iterator(fs::path(WHITTLE_SOURCE_DIR) / "pipelines")) {
    INFO(e.path());
    if (e.path().extension() == ".recipe") CHECK(!smoke_sets(e.path()).empty());
  }
}
