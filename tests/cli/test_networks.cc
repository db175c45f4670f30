// End to end: a network written in the recipe, on a slice of the real CIFAR-10, trained, pruned
// (unstructured; structured masked and physical), quantized, converted to int8, scored and
// exported; `whittle check --layers` and `whittle plan` on it; a sweep over one of its knobs.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>

#include "tests/cli/helpers.h"

using namespace whittle::test;
namespace fs = std::filesystem;

namespace {

const char* kNet = R"(network tiny(w: int = 8) {
  conv $w channels -> bn -> relu
  residual { conv $w channels -> bn -> relu -> conv $w channels -> bn }
  relu -> maxpool
  dense 2 { bn -> relu -> conv $w / 2 channels }
  conv 2 * $w channels kernel: 1 -> bn -> relu
  avgpool global -> dropout 10% -> linear
}
)";

std::string cifar_root() {
  const fs::path data = fs::path(WHITTLE_SOURCE_DIR) / ".." / "shared" / "data";
  return fs::exists(data / "cifar-10-batches-bin") ? data.string() : "";
}

}  // namespace

TEST_CASE("a network trains, prunes, quantizes, converts, scores and exports on CIFAR-10", "[run][network]") {
  const std::string root = cifar_root();
  if (root.empty()) {
    WHITTLE_SKIP("no CIFAR-10 beside the repository");
  }
  Scratch s;
  const std::string out = (s.dir / "tiny.pt").string();
  const std::string recipe = s.write(
      "r.recipe",
      std::string(kNet) +
          "data cifar10 subset: 256 test_subset: 128\n"
          "model tiny\ntrain 1 epoch as trained\nevaluate\n"
          "prune 30% global l1 -> retrain 1 epoch -> evaluate as unstructured\n"
          "from $trained\nprune 25% structured l1 -> evaluate as masked\n"
          "from $trained\nprune 25% structured l1 physical: true -> evaluate as physical\n"
          "from $trained\nquantize 8 bits activations: 8 bits -> retrain 1 epoch -> convert -> evaluate as int8\n"
          "score course2025\nexport \"" +
          out + "\"\n");
  const Result r =
      run_whittle_cmd("WHITTLE_DATA=" + root + " " + WHITTLE_BIN + " run --threads 2 --format json --cache " +
                      (s.dir / "cache").string() + " " + recipe);
  INFO(r.out);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  // The metrics of the last stage on each line of the recipe (the network takes lines 1-8).
  std::map<int, nlohmann::json> at_line;
  for (const auto& st : j["stages"]) {
    CHECK(st["status"] == "ran");
    at_line[st["line"].get<int>()] = st["metrics"];
  }
  std::map<std::string, nlohmann::json> named = {{"trained", at_line[11]},
                                                 {"unstructured", at_line[13]},
                                                 {"masked", at_line[15]},
                                                 {"physical", at_line[17]},
                                                 {"int8", at_line[19]}};
  REQUIRE(named["trained"].contains("params"));
  const double params = named["trained"]["params"].get<double>();
  // conv 8: 216 + bn 16; residual 2·(576 + 16); dense 8·... : the checker's count is the run's.
  CHECK(params > 0);
  CHECK(named["unstructured"]["sparsity"].get<double>() > 0.25);
  CHECK(named["masked"]["accuracy"].get<double>() == Approx(named["physical"]["accuracy"].get<double>()));
  CHECK(named["physical"]["params"].get<double>() < params);
  CHECK(named["physical"]["macs"].get<double>() < named["trained"]["macs"].get<double>());
  CHECK(named["int8"]["accuracy"].get<double>() >= 0);
  CHECK(fs::exists(out));
  // The layer table counts what the run measured.
  const Result layers = run_whittle("check --layers --format json " + (s.dir / "r.recipe").string());
  REQUIRE(layers.code == 0);
  const auto t = nlohmann::json::parse(layers.out.substr(layers.out.find("[{")));  // after the notes on stderr
  REQUIRE(t.size() == 1);
  CHECK(t[0]["params"].get<double>() == params);
  CHECK(t[0]["macs"].get<double>() == named["trained"]["macs"].get<double>());
  CHECK(t[0]["layers"][0]["module"] == "0");
}

TEST_CASE("check --layers, plan and a sweep over a network's knob", "[run][network]") {
  Scratch s;
  const std::string recipe = s.write(
      "n.recipe", std::string(kNet) +
                      "data synthetic size: 64\nsweep w in [4, 8] { model tiny w: $w -> train 1 epoch -> evaluate }\n");
  const Result table = run_whittle("check --layers " + recipe);
  REQUIRE(table.code == 0);
  CHECK(table.out.find("network tiny(w: 4): input 1×12×12") != std::string::npos);
  CHECK(table.out.find("network tiny(w: 8): input 1×12×12") != std::string::npos);
  CHECK(table.out.find("3.body.0") != std::string::npos);
  CHECK(table.out.find("residual (identity)") != std::string::npos);
  const Result plan = run_whittle("plan --cache " + (s.dir / "cache").string() + " " + recipe);
  INFO(plan.out);
  REQUIRE(plan.code == 0);
  CHECK(plan.out.find("model tiny w: 4") != std::string::npos);
  const auto j =
      run_json(s, std::string(kNet) +
                      "data synthetic size: 64\nsweep w in [4, 8] { model tiny w: $w -> train 1 epoch -> evaluate }\n");
  std::vector<double> params;
  for (const auto& st : j["stages"])
    if (st["kind"] == "evaluate") params.push_back(st["metrics"]["params"].get<double>());
  REQUIRE(params.size() == 2);
  CHECK(params[0] < params[1]);
  // The layers are documented like stages.
  const Result doc = run_whittle("doc conv");
  CHECK(doc.code == 0);
  CHECK(doc.out.find("a layer of a network") != std::string::npos);
  CHECK(doc.out.find("depthwise") != std::string::npos);
  CHECK(run_whittle("doc").out.find("layers of a network") != std::string::npos);
  CHECK(run_whittle("doc cnov").out.find("did you mean `conv`?") != std::string::npos);
  // Editing a layer reruns the chain; editing nothing reruns nothing.
  const auto again =
      run_json(s, std::string(kNet) +
                      "data synthetic size: 64\nsweep w in [4, 8] { model tiny w: $w -> train 1 epoch -> evaluate }\n");
  for (const auto& st : again["stages"]) CHECK(st["status"] == "cached");
}
