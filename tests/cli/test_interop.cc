// End to end: models out of whittle. A TorchScript export is read back by LibTorch's JIT and
// evaluated before it is kept (its agreement recorded), loads in Python with torch.jit.load and no
// class definitions, and a model that cannot be traced is refused at its line.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>

#include "tests/cli/helpers.h"

using namespace whittle::test;
namespace fs = std::filesystem;

TEST_CASE("TorchScript and ONNX exports compute what whittle measured, in LibTorch, OpenCV and Python",
          "[run][export][torchscript]") {
  if (!fashion_mnist_installed()) WHITTLE_SKIP("no Fashion-MNIST (Debian's dataset-fashion-mnist)");
  const std::string& fashion = kFashionMnist;
  Scratch s;
  const std::string out = (s.dir / "out" / "m.ts.pt").string();
  const auto j = run_json(s,
                          "data fashion_mnist subset: 2000\nmodel small_cnn\ntrain 1 epoch\nprune 30% global\n"
                          "quantize 4 bits\nevaluate\nexport \"" +
                              out + "\" format: torchscript\nexport \"" + (s.dir / "out" / "m.onnx").string() + "\"\n");
  REQUIRE(fs::exists(out));
  double accuracy = -1;
  nlohmann::json exported, onnx;
  for (const auto& st : j["stages"]) {
    if (st["kind"] == "evaluate") accuracy = st["metrics"]["accuracy"];
    if (st["kind"] == "export") (exported.is_null() ? exported : onnx) = st["metrics"];
  }
  // The ONNX file, read by OpenCV's DNN module, predicts what whittle's model does.
  REQUIRE(onnx.contains("export_agreement"));
  CHECK(onnx["export_agreement"].get<double>() == 1.0);
  CHECK(onnx["export_max_logit_diff"].get<double>() < 1e-3);
  CHECK(onnx["export_accuracy"].get<double>() == Approx(accuracy).margin(1e-9));
  CHECK(fs::exists(s.dir / "out" / "m.onnx"));
  REQUIRE(exported.contains("export_agreement"));
  CHECK(exported["export_agreement"].get<double>() == 1.0);
  CHECK(exported["export_max_logit_diff"].get<double>() < 1e-4);
  CHECK(exported["export_accuracy"].get<double>() == Approx(accuracy).margin(1e-9));
  const Result has_torch = run_whittle_cmd("/usr/bin/python3 -c 'import torch'");
  if (has_torch.code != 0) {
    WHITTLE_SKIP("the Python half: /usr/bin/python3 cannot import torch (Debian's python3-torch)");
  }
  const Result py = run_whittle_cmd("/usr/bin/python3 " + std::string(WHITTLE_SOURCE_DIR) +
                                    "/scripts/eval_torchscript.py " + out + " --data " + fashion);
  INFO(py.out);
  REQUIRE(py.code == 0);
  const double python = std::stod(py.out.substr(py.out.find("test accuracy ") + 14));
  CHECK(python == Approx(accuracy).margin(2e-4));
}

TEST_CASE("networks export as TorchScript, a converted model is refused at the export's line",
          "[run][export][torchscript]") {
  Scratch s;
  const std::string net =
      "network tiny {\n  conv 8 channels -> bn -> relu\n  residual { conv 8 channels -> bn -> relu -> conv 8 channels "
      "-> bn }\n"
      "  dense 2 { bn -> relu -> conv 4 channels }\n  avgpool global -> linear\n}\n";
  const auto j = run_json(s, net + "data synthetic size: 128\nmodel tiny\ntrain 1 epoch\nevaluate\nexport \"" +
                                 (s.dir / "a.ts.pt").string() + "\" format: torchscript\nexport \"" +
                                 (s.dir / "b.ts.pt").string() +
                                 "\" format: torchscript normalize: false tolerance: 1e-5\nexport \"" +
                                 (s.dir / "c.onnx").string() + "\"\n");
  int exports = 0;
  for (const auto& st : j["stages"])
    if (st["kind"] == "export") {
      ++exports;
      CHECK(st["metrics"]["export_agreement"].get<double>() == 1.0);
    }
  CHECK(exports == 3);
  CHECK(fs::exists(s.dir / "c.onnx"));
  CHECK(fs::exists(s.dir / "a.ts.pt"));
  CHECK(fs::exists(s.dir / "b.ts.pt"));
  const Result r =
      run_whittle("run --threads 1 --cache " + (s.dir / "cache").string() + " " +
                  s.write("c.recipe", net + "data synthetic size: 128\nmodel tiny\ntrain 1 epoch\nconvert\nexport \"" +
                                          (s.dir / "c.ts.pt").string() + "\" format: torchscript\n"));
  CHECK(r.code != 0);
  CHECK(r.out.find("cannot be exported as TorchScript") != std::string::npos);
  CHECK(r.out.find("c.recipe:11") != std::string::npos);
  CHECK_FALSE(fs::exists(s.dir / "c.ts.pt"));
}

TEST_CASE("quantized activations export as TorchScript and are refused by the ONNX writer with the layer",
          "[run][export][torchscript]") {
  Scratch s;
  const std::string head =
      "data synthetic size: 128\nmodel small_cnn\ntrain 1 epoch\nquantize 8 bits activations: 8 bits\nevaluate\n";
  const auto j = run_json(s, head + "export \"" + (s.dir / "q.ts.pt").string() + "\" format: torchscript\n");
  CHECK(j["stages"].back()["metrics"]["export_agreement"].get<double>() == 1.0);
  CHECK(j["stages"].back()["metrics"]["export_max_logit_diff"].get<double>() < 1e-4);
  const Result r = run_whittle("run --threads 1 --cache " + (s.dir / "cache").string() + " " +
                               s.write("o.recipe", head + "export \"" + (s.dir / "q.onnx").string() + "\"\n"));
  CHECK(r.code != 0);
  // Either this build has no ONNX export at all, or it names what it cannot write and where.
  const bool refused = r.out.find("does not write quantized activations yet (`conv1`") != std::string::npos ||
                       r.out.find("no ONNX export") != std::string::npos;
  CHECK(refused);
  CHECK(r.out.find("o.recipe:6") != std::string::npos);
  CHECK_FALSE(fs::exists(s.dir / "q.onnx"));
}

TEST_CASE("an ONNX export beyond its tolerance fails with the node where the outputs first part", "[run][export]") {
  Scratch s;
  // tolerance 0: any difference at all between OpenCV and LibTorch fails the stage.
  const Result r = run_whittle(
      "run --threads 1 --cache " + (s.dir / "cache").string() + " " +
      s.write("t.recipe",
              "data synthetic size: 128\nmodel small_cnn\ntrain 1 epoch\nquantize 4 bits\nevaluate\nexport \"" +
                  (s.dir / "t.onnx").string() + "\" tolerance: 0\n"));
  if (r.out.find("no ONNX export") != std::string::npos) {
    WHITTLE_SKIP("this build has no ONNX export");
  }
  if (r.code == 0) {
    WHITTLE_SKIP("OpenCV computed the very same logits as LibTorch: nothing parts");
  }
  INFO(r.out);
  CHECK(r.out.find("computes other logits than the model") != std::string::npos);
  CHECK(r.out.find("the outputs first part at the ONNX node `") != std::string::npos);
  CHECK(r.out.find("t.recipe:6") != std::string::npos);
  CHECK_FALSE(fs::exists(s.dir / "t.onnx"));
}
