// End to end: pruning rounds, quantization-aware retraining, structured pruning and the score
// stages through `whittle run` on synthetic data.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cmath>

#include "tests/cli/helpers.h"

using namespace whittle::test;

TEST_CASE("pruning 20% seven times leaves 20.97% of the prunable weights after every retrain", "[run][compress]") {
  Scratch s;
  const auto j = run_json(s,
                          "data synthetic size: 256\nmodel small_cnn\ntrain 1 epoch\n"
                          "repeat 7 {\n  prune 20% global\n  retrain 1 epoch\n}\n");
  int round = 0;
  for (const auto& st : j["stages"]) {
    if (st["kind"] == "prune") ++round;
    if (st["kind"] != "retrain") continue;
    INFO("round " << round);
    CHECK(st["metrics"]["sparsity"].get<double>() == Approx(1 - std::pow(0.8, round)).margin(2e-4));
  }
  CHECK(round == 7);
  CHECK(j["stages"].back()["metrics"]["sparsity"].get<double>() == Approx(0.7903).margin(1e-4));
}

TEST_CASE("quantize, retrain quantization-aware, prune, physically slim and score", "[run][compress]") {
  Scratch s;
  const auto j = run_json(s,
                          "data synthetic size: 256\nmodel small_cnn\ntrain 2 epochs\n"
                          "quantize 4 bits activations: 8 bits\nretrain 1 epoch\n"
                          "prune 50% structured physical: true\nretrain 1 epoch\nevaluate\n"
                          "score course2025\nscore course2021 count: all\nscore micronet2019\n");
  std::map<std::string, nlohmann::json> by_kind;
  for (const auto& st : j["stages"]) by_kind[st["kind"].get<std::string>() + (st["kind"] == "score" ? std::to_string(st["id"].get<int>()) : "")] = st;
  const auto& quantized = by_kind["quantize"]["metrics"];
  CHECK(quantized["bits"] == 4);
  CHECK(quantized["activation_bits"] == 8);
  CHECK(quantized["packed_mib"].get<double>() < quantized["size_mib"].get<double>() / 4);
  const auto& trained = by_kind["train"]["metrics"];
  const auto& slim = by_kind["prune"]["metrics"];
  CHECK(slim["params"].get<double>() < trained["params"].get<double>());
  CHECK(slim["macs"].get<double>() < trained["macs"].get<double>());
  CHECK(slim["bits"] == 4);  // the slimmed layers keep their quantizers
  int scores = 0;
  for (const auto& [k, st] : by_kind)
    if (k.rfind("score", 0) == 0) {
      ++scores;
      CHECK(st["metrics"]["score"].get<double>() > 0);
      CHECK(st["metrics"].contains("score_p_u"));
    }
  CHECK(scores == 3);
  // The table prints every score stage's components.
  const Result table = run_whittle("run --threads 1 --cache " + (s.dir / "cache").string() + " " + (s.dir / "r.recipe").string());
  CHECK(table.code == 0);
  CHECK(table.out.find("score course2021: ") != std::string::npos);
  CHECK(table.out.find("  q_a = 8") != std::string::npos);
  CHECK(table.out.find("parameter term = ") != std::string::npos);
}

TEST_CASE("quantization that cannot be done fails at its line with help", "[run][compress]") {
  Scratch s;
  const auto run = [&](const std::string& stage) {
    return run_whittle("run --threads 1 --cache " + (s.dir / "cache").string() + " " +
                       s.write("e.recipe", "data synthetic size: 64\nmodel small_cnn\n" + stage + "\n"));
  };
  const Result one = run("quantize 1 bit");
  CHECK(one.code == 1);
  CHECK(one.out.find("quantize 1 bit binary") != std::string::npos);
  const Result acts = run("quantize 8 bits activations: 1 bit");
  CHECK(acts.code == 1);
  CHECK(acts.out.find("activations: 8 bits") != std::string::npos);
  const Result grouped = run_whittle("run --threads 1 --cache " + (s.dir / "cache").string() + " " +
                                     s.write("g.recipe", "data synthetic size: 64\nmodel small_cnn groups: 2\n"
                                                         "prune 50% structured physical: true spare_first: false\n"));
  CHECK(grouped.code == 1);
  CHECK(grouped.out.find("grouped convolution") != std::string::npos);
  CHECK(grouped.out.find("g.recipe:3") != std::string::npos);
}

TEST_CASE("pruning during training: gradual reaches its sparsity on schedule, soft filter and slimming run", "[run][compress]") {
  Scratch s;
  const auto j = run_json(s,
                          "data synthetic size: 256\nmodel small_cnn\n"
                          "train 4 epochs sparsify: gradual(to: 80%, start: 0, end: 3)\n"
                          "model small_cnn\ntrain 2 epochs sparsify: soft_filter(rate: 50%)\n"
                          "model small_cnn\ntrain 2 epochs sparsify: slimming(lambda: 1e-3)\n");
  std::map<int, nlohmann::json> st;
  for (const auto& x : j["stages"]) st[x["id"].get<int>()] = x;
  CHECK(st[2]["metrics"]["sparsity"].get<double>() == Approx(0.8).margin(1e-3));
  // Soft filter pruning zeroes half the filters of every conv but the first after the last epoch.
  CHECK(st[4]["metrics"]["nonzero"].get<double>() < st[3]["metrics"]["nonzero"].get<double>());
  CHECK(st[6]["status"] == "ran");
  const std::string key = st[2]["key"];
  const std::string log = s.read("cache/objects/" + key.substr(0, 2) + "/" + key + "/log.txt");
  CHECK(log.find("epoch 4/4") != std::string::npos);
  const Result bad = run_whittle("run --threads 1 --cache " + (s.dir / "cache").string() + " " +
                                 s.write("b.recipe", "data synthetic size: 64\nmodel small_cnn\ntrain 2 epochs sparsify: gradual(to: 50%, end: 5)\n"));
  CHECK(bad.code == 1);
  CHECK(bad.out.find("does not fit in 2 epochs") != std::string::npos);
}

TEST_CASE("an exported pruned and quantized model loads in Python PyTorch with the same test accuracy", "[run][compress][export]") {
  const std::string fashion = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(fashion + "/t10k-images-idx3-ubyte.gz")) {
    WARN("skipped: no Fashion-MNIST at " << fashion << " (Debian's dataset-fashion-mnist)");
    return;
  }
  Scratch s;
  const auto j = run_json(s,
                          "data fashion_mnist subset: 2000\nmodel small_cnn\ntrain 1 epoch\n"
                          "prune 50% structured physical: true\nquantize 4 bits kmeans\nevaluate\nexport \"" +
                              (s.dir / "out" / "model.pt").string() + "\"\n");
  REQUIRE(std::filesystem::exists(s.dir / "out" / "model.pt"));
  double accuracy = 0;
  for (const auto& st : j["stages"])
    if (st["kind"] == "evaluate") accuracy = st["metrics"]["accuracy"];
  // Debian's python3-torch is in the system Python; another python3 first on PATH may lack it.
  const Result has_torch = run_whittle_cmd("/usr/bin/python3 -c 'import torch'");
  if (has_torch.code != 0) {
    WARN("skipped the Python half: /usr/bin/python3 cannot import torch (Debian's python3-torch)");
    return;
  }
  const Result py = run_whittle_cmd("/usr/bin/python3 " + std::string(WHITTLE_SOURCE_DIR) + "/scripts/whittle_export.py " +
                                    (s.dir / "out" / "model.pt").string() + " --data " + fashion);
  INFO(py.out);
  REQUIRE(py.code == 0);
  const double python = std::stod(py.out.substr(py.out.find("test accuracy ") + 14));
  CHECK(python == Approx(accuracy).margin(2e-4));  // at most a couple of the 10,000 images on float rounding
  // A cached export is still delivered.
  std::filesystem::remove(s.dir / "out" / "model.pt");
  run_json(s, s.read("r.recipe"));
  CHECK(std::filesystem::exists(s.dir / "out" / "model.pt"));
}

TEST_CASE("convert runs int8 kernels with the float model's accuracy; the converted model is for inference only", "[run][compress][int8]") {
  Scratch s;
  const auto j = run_json(s, "data synthetic size: 512\nmodel small_cnn\ntrain 3 epochs\nevaluate\nconvert\nevaluate latency: cpu batch: 64\n");
  std::map<int, nlohmann::json> st;
  for (const auto& x : j["stages"]) st[x["id"].get<int>()] = x;
  CHECK(st[4]["metrics"]["int8_convs"].get<int>() >= 2);
  const double before = st[3]["metrics"]["accuracy"], after = st[5]["metrics"]["accuracy"];
  CHECK(after == Approx(before).margin(0.03));
  CHECK(st[5]["metrics"]["latency_ms"].get<double>() > 0);
  const Result r = run_whittle("run --threads 1 --cache " + (s.dir / "cache").string() + " " +
                               s.write("t.recipe", "data synthetic size: 512\nmodel small_cnn\ntrain 3 epochs\nconvert\nretrain 1 epoch\n"));
  CHECK(r.code != 0);
  CHECK(r.out.find("`retrain` needs a float model, and this one was converted to int8 kernels") != std::string::npos);
  CHECK(r.out.find("t.recipe:5") != std::string::npos);
  CHECK(r.out.find("put `convert` after every train, prune and quantize") != std::string::npos);
}
