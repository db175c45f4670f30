// The static preview by counts (runtime/torch/stages/preview_shapes.h) against the LibTorch way: the same
// figures, stage by stage, on every shipped pipeline and on sweeps made to reach its every case
// (layer-wise and global prunes at many amounts, ties at the threshold, `of: all`, quantizers per
// tensor and per channel, `first_last:`, and the stages it leaves to LibTorch).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "lang/analyze.h"
#include "lang/data_layout.h"
#include "runtime/cache/store.h"
#include "runtime/plan/plan.h"
#include "runtime/torch/stages/preview.h"

using namespace whittle;
using namespace whittle::runtime;

namespace {

struct Compared {
  int stages = 0;     ///< stages with figures
  int by_shapes = 0;  ///< of those, worked out by counts
};

/// Previews `plan` both ways and checks every stage's figures and flags equal.
Compared compare_previews(const Plan& plan, const std::string& what) {
  const auto fast = torchrt::preview_plan(plan, true);
  const auto slow = torchrt::preview_plan(plan, false);
  Compared c;
  REQUIRE(fast.size() == slow.size());
  for (const auto& [id, s] : slow) {
    INFO(what << ": stage #" << id << " " << plan.stage(id).kind);
    const torchrt::StagePreview& f = fast.at(id);
    CHECK(f.note == s.note);
    CHECK(f.estimated == s.estimated);
    CHECK(f.score_estimated == s.score_estimated);
    CHECK(f.score_preset == s.score_preset);
    CHECK_FALSE(s.by_shapes);
    REQUIRE(f.metrics.size() == s.metrics.size());
    for (const auto& [key, value] : s.metrics) {
      INFO(key);
      REQUIRE(f.metrics.count(key));
      CHECK(f.metrics.at(key) == value);  // the same counts summed in the same order: equal, not close
    }
    c.stages += !s.metrics.empty();
    c.by_shapes += f.by_shapes;
  }
  return c;
}

const std::filesystem::path& scratch() {
  static const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("whittle-preview-shapes-" + std::to_string(::getpid()));
  return dir;
}

/// A folder where every data set's files are, empty: a plan needs them to be there, and the preview
/// reads none of them (CI has no CIFAR-10).
std::string empty_data_sets() {
  const auto root = scratch() / "data";
  for (const char* name : {"cifar10", "fashion_mnist"}) {
    const lang::DataLayout* layout = lang::data_layout(name);
    std::filesystem::create_directories(root / layout->folder);
    for (const auto& f : layout->files) std::ofstream(root / layout->folder / f).flush();
  }
  return root.string();
}

std::unique_ptr<Plan> plan_of(const std::string& name, const std::string& text) {
  auto analysis = text.empty() ? lang::analyze_file(name) : lang::analyze(name, text);
  for (const auto& d : analysis->diags.all()) UNSCOPED_INFO(d.message);
  REQUIRE_FALSE(analysis->diags.has_errors());
  static ArtifactStore store((scratch() / "cache").string());
  static const std::string data = empty_data_sets();
  auto plan = make_plan(std::move(analysis), store, data);
  REQUIRE(plan);
  for (const auto& d : plan->analysis->diags.all()) UNSCOPED_INFO(d.message);
  REQUIRE_FALSE(plan->analysis->diags.has_errors());
  return plan;
}

}  // namespace

TEST_CASE("the preview by counts gives the LibTorch preview's figures on every shipped pipeline", "[preview][shapes]") {
  int with_shapes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(WHITTLE_SOURCE_DIR) + "/pipelines")) {
    if (entry.path().extension() != ".recipe") continue;
    const auto plan = plan_of(entry.path().string(), "");
    const Compared c = compare_previews(*plan, entry.path().filename().string());
    UNSCOPED_INFO(entry.path().filename().string()
                  << ": " << c.stages << " stages with figures, " << c.by_shapes << " by counts");
    // The sweep of prune amounts and the search hold their trained model by counts.
    const std::string name = entry.path().stem().string();
    if (name == "resnet18_prune_sweep" || name == "course_search") {
      CHECK(c.by_shapes >= 8);
      ++with_shapes;
    }
  }
  CHECK(with_shapes == 2);
  std::filesystem::remove_all(scratch());
}

TEST_CASE("the preview by counts: every kind of prune and quantize it works out, and those it leaves to LibTorch",
          "[preview][shapes]") {
  // small_cnn right after `model` (no train): its weights as initialised; after `train`: as the
  // train's preview leaves them. Amounts fine enough that layers' thresholds fall on equal magnitudes.
  for (const std::string start : {"", "train 1 epoch\n"}) {
    const std::string recipe = "data synthetic size: 64\nmodel small_cnn\n" + start +
                               "sweep amount in 0%..99% by 3% {\n"
                               "  sweep how in [layer, global] {\n"
                               "    prune $amount scope: $how\n"
                               "    quantize 4 bits activations: 8 bits\n"
                               "    " +
                               std::string(start.empty() ? "train" : "retrain") +
                               " 1 epoch\n"
                               "    evaluate\n"
                               "    score version: micronet2019\n"
                               "  }\n"
                               "  prune $amount of: all spare_first: false spare_last: false\n"
                               "  quantize 2 bits granularity: per_tensor first_last: 8 bits layers: conv\n"
                               "  evaluate tta: flip\n"
                               "}\n"
                               "sweep bits in [2, 3, 8] {\n"
                               "  quantize $bits bits\n"
                               "  prune 30%\n"  // a prune after a quantizer: LibTorch's
                               "}\n"
                               "prune 50% structured\n"     // LibTorch's
                               "quantize 4 bits kmeans\n";  // LibTorch's
    const auto plan = plan_of("shapes.recipe", recipe);
    const Compared c = compare_previews(*plan, start.empty() ? "as initialised" : "after train");
    CHECK(c.by_shapes > 100);
    CHECK(c.by_shapes < c.stages);
  }
}
