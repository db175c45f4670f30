// End to end: a network written and scripted in PyTorch comes in with `model torchscript`, is
// trained, pruned, quantized and exported, and the exports compute what whittle measured; the
// file's content is its key; what cannot be done on it fails at its line.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "tests/cli/helpers.h"

using namespace whittle::test;
namespace fs = std::filesystem;

namespace {

bool python_torch() { return run_whittle_cmd("/usr/bin/python3 -c 'import torch'").code == 0; }

/// The student's model, scripted by PyTorch itself when Python has torch, else the committed fixture
/// (made by the same script).
void make_model(const fs::path& to, int seed, int classes = 10) {
  if (!python_torch() && classes == 10) {
    WARN("/usr/bin/python3 cannot import torch (Debian's python3-torch): using tests/fixtures/student_net_1ch.pt");
    fs::copy_file(fs::path(WHITTLE_SOURCE_DIR) / "tests" / "fixtures" / "student_net_1ch.pt", to,
                  fs::copy_options::overwrite_existing);
    return;
  }
  const Result r = run_whittle_cmd(
      "/usr/bin/python3 " + std::string(WHITTLE_SOURCE_DIR) + "/scripts/make_scripted_model.py " + to.string() +
      " --channels 1 --width 8 --seed " + std::to_string(seed) + " --classes " + std::to_string(classes));
  INFO(r.out);
  REQUIRE(r.code == 0);
}

std::map<std::string, std::string> statuses(const nlohmann::json& j) {
  std::map<std::string, std::string> out;
  for (const auto& st : j["stages"]) out[std::to_string(st["line"].get<int>())] = st["status"];
  return out;
}

}  // namespace

TEST_CASE("a PyTorch model comes in, is compressed, and goes out to ONNX and TorchScript at whittle's accuracy",
          "[run][script]") {
  if (!fashion_mnist_installed()) WHITTLE_SKIP("no Fashion-MNIST (Debian's dataset-fashion-mnist)");
  const std::string& fashion = kFashionMnist;
  Scratch s;
  // The committed fixture (the same script's model, seed 0), not one written now: TorchScript writes
  // a `Final` constant's lines in Python's set order, so a freshly written file has other bytes each
  // run, hence other keys and seeds, and this tiny net ended anywhere from 11% to 70%.
  fs::copy_file(fs::path(WHITTLE_SOURCE_DIR) / "tests" / "fixtures" / "student_net_1ch.pt", s.dir / "student.pt");
  const std::string recipe =
      "data fashion_mnist subset: 6000\nmodel torchscript path: \"student.pt\"\ntrain 3 epochs\n"
      "prune 40% global\nretrain 1 epoch rewind: lr\nprune 25% structured\nretrain 1 epoch\nquantize 4 bits\nretrain 1 "
      "epoch\nevaluate\n"
      "export \"" +
      (s.dir / "out" / "student.onnx").string() + "\"\nexport \"" + (s.dir / "out" / "student.ts.pt").string() +
      "\" format: torchscript\n";
  const auto j = run_json(s, recipe);
  double accuracy = -1;
  std::vector<nlohmann::json> exports;
  for (const auto& st : j["stages"]) {
    if (st["kind"] == "evaluate") accuracy = st["metrics"]["accuracy"];
    if (st["kind"] == "export") exports.push_back(st["metrics"]);
  }
  INFO("accuracy " << accuracy);
  CHECK(accuracy > 0.2);  // above chance (0.1): 49.5% on this machine
  REQUIRE(exports.size() == 2);
  for (const auto& m : exports) {
    CHECK(m["export_agreement"].get<double>() == 1.0);
    CHECK(m["export_max_logit_diff"].get<double>() < 1e-3);
    CHECK(m["export_accuracy"].get<double>() == Approx(accuracy).margin(1e-9));
  }
  // Python's torch.jit.load runs the TorchScript export, with no whittle code, at whittle's accuracy.
  if (python_torch()) {
    const Result py =
        run_whittle_cmd("/usr/bin/python3 " + std::string(WHITTLE_SOURCE_DIR) + "/scripts/eval_torchscript.py " +
                        (s.dir / "out" / "student.ts.pt").string() + " --data " + fashion);
    INFO(py.out);
    REQUIRE(py.code == 0);
    CHECK(std::stod(py.out.substr(py.out.find("test accuracy ") + 14)) == Approx(accuracy).margin(2e-4));
  }

  // Run again: everything from the cache. Write the file again with other weights: the model
  // stage and everything after it run again, the data stage does not.
  const auto again = statuses(run_json(s, recipe));
  CHECK(again.at("2") == "cached");
  CHECK(again.at("12") == "cached");
  make_model(s.dir / "student.pt", python_torch() ? 1 : 0);
  if (python_torch()) {
    const auto changed = statuses(run_json(s, recipe));
    CHECK(changed.at("1") == "cached");
    CHECK(changed.at("2") == "ran");
    CHECK(changed.at("10") == "ran");
  }
}

TEST_CASE("what a scripted model cannot do fails at its line, before anything runs", "[run][script]") {
  Scratch s;
  make_model(s.dir / "student.pt", 0);
  const Result r = run_whittle("run --threads 1 --cache " + (s.dir / "cache").string() + " " +
                               s.write("c.recipe",
                                       "data fashion_mnist\nmodel torchscript path: \"student.pt\"\n"
                                       "train 1 epoch\nquantize 8 bits\nretrain 1 epoch\nconvert\nevaluate\n"));
  CHECK(r.code != 0);
  CHECK(r.out.find("error[E0307]") != std::string::npos);
  CHECK(r.out.find("c.recipe:6:1") != std::string::npos);
  CHECK_FALSE(fs::exists(s.dir / "cache" / "entries"));  // refused at check time: no stage ran

  const Result missing =
      run_whittle("check " + s.write("m.recipe", "data synthetic\nmodel torchscript path: \"gone.pt\"\nevaluate\n"));
  CHECK(missing.code != 0);
  CHECK(missing.out.find("m.recipe:2:25") != std::string::npos);
  CHECK(missing.out.find("no scripted module at") != std::string::npos);

  // A scripted module for 3-channel images, given the 1-channel synthetic set: an error at the model's line.
  if (!python_torch()) return;
  REQUIRE(run_whittle_cmd("/usr/bin/python3 " + std::string(WHITTLE_SOURCE_DIR) + "/scripts/make_scripted_model.py " +
                          (s.dir / "rgb.pt").string() + " --channels 3 --width 4")
              .code == 0);
  const Result shape =
      run_whittle("run --threads 1 --cache " + (s.dir / "cache").string() + " " +
                  s.write("s.recipe", "data synthetic size: 64\nmodel torchscript path: \"rgb.pt\"\nevaluate\n"));
  CHECK(shape.code != 0);
  CHECK(shape.out.find("cannot take 1x12x12 images") != std::string::npos);
  CHECK(shape.out.find("s.recipe:2") != std::string::npos);
}

TEST_CASE("an operation the ONNX writer does not know fails the export at its line and names it",
          "[run][script][export]") {
  if (!python_torch()) {
    WHITTLE_SKIP("/usr/bin/python3 cannot import torch (Debian's python3-torch)");
  }
  Scratch s;
  const std::string model = (s.dir / "silu.pt").string();
  // TorchScript reads the class's source, so the model is a file of Python, as a student's is.
  const std::string code =
      s.write("silu.py",
              "import torch\nfrom torch import nn\nimport torch.nn.functional as F\n\n"
              "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.conv = "
              "nn.Conv2d(1, 4, 3)\n"
              "        self.fc = nn.Linear(4, 4)\n\n    def forward(self, x):\n"
              "        return self.fc(F.adaptive_avg_pool2d(F.silu(self.conv(x)), 1).flatten(1))\n\n"
              "torch.jit.script(Net()).save(\"" +
                  model + "\")\n");
  const Result py = run_whittle_cmd("/usr/bin/python3 " + code);
  INFO(py.out);
  REQUIRE(py.code == 0);
  const std::string head = "data synthetic size: 64\nmodel torchscript path: \"silu.pt\"\ntrain 1 epoch\nevaluate\n";
  // TorchScript runs every LibTorch operation: that export is fine.
  const auto j = run_json(s, head + "export \"" + (s.dir / "silu.ts.pt").string() + "\" format: torchscript\n");
  CHECK(j["stages"].back()["metrics"]["export_agreement"].get<double>() == 1.0);
  const Result r = run_whittle("run --threads 1 --cache " + (s.dir / "cache").string() + " " +
                               s.write("o.recipe", head + "export \"" + (s.dir / "silu.onnx").string() + "\"\n"));
  CHECK(r.code != 0);
  const bool named = r.out.find("the operation `aten::silu`") != std::string::npos ||
                     r.out.find("no ONNX export") != std::string::npos;
  CHECK(named);
  CHECK(r.out.find("o.recipe:5") != std::string::npos);
  CHECK_FALSE(fs::exists(s.dir / "silu.onnx"));
}

TEST_CASE("a submission holds the scripted model and the exports, and verify evaluates the exports again",
          "[run][script][submit]") {
  if (!python_torch()) {
    WHITTLE_SKIP(
        "/usr/bin/python3 cannot import torch (Debian's python3-torch) to script a model for the synthetic set's 4 "
        "classes");
  }
  Scratch s;
  make_model(s.dir / "student.pt", 0, 4);  // the synthetic set has 4 classes
  const std::string recipe =
      "recipe sub\ndata synthetic size: 256\nmodel torchscript path: \"student.pt\"\ntrain 1 epoch\nquantize 4 bits\n"
      "retrain 1 epoch\nevaluate\nexport \"" +
      (s.dir / "out" / "student.onnx").string() + "\"\nexport \"" + (s.dir / "out" / "student.ts.pt").string() +
      "\" format: torchscript\n";
  run_json(s, recipe);
  const std::string archive = (s.dir / "sub.tar.gz").string();
  const Result sub = run_whittle("submit --cache " + (s.dir / "cache").string() + " -o " + archive + " " +
                                 (s.dir / "r.recipe").string());
  INFO(sub.out);
  REQUIRE(sub.code == 0);
  const Result listing = run_whittle_cmd("tar tzf " + archive);
  for (const char* f : {"sub/recipe/student.pt", "sub/exports/student.onnx", "sub/exports/student.ts.pt"})
    CHECK(listing.out.find(f) != std::string::npos);
  // On "another machine": no cache, no scripted file, no exports beside it.
  std::filesystem::remove_all(s.dir / "cache");
  std::filesystem::remove_all(s.dir / "out");
  std::filesystem::remove(s.dir / "student.pt");
  const Result ok = run_whittle("verify " + archive);
  INFO(ok.out);
  CHECK(ok.code == 0);
  CHECK(ok.out.find("export student.ts.pt") != std::string::npos);
  const bool onnx_row = ok.out.find("export student.onnx") != std::string::npos;
  CHECK(onnx_row);
  CHECK(ok.out.find("FAIL") == std::string::npos);
  // An export's claim changed, checksums re-summed: evaluating the file again says otherwise.
  const Result claimed =
      run_whittle("verify " + repack(s, archive, "sed -i 's/\"agreement\": [0-9.e-]*/\"agreement\": 0.5/' claims.json",
                                     true, "a.tar.gz"));
  INFO(claimed.out);
  CHECK(claimed.code == 1);
  CHECK(claimed.out.find("FAIL export student") != std::string::npos);
  // The ONNX file swapped for the TorchScript one's bytes: it no longer reads back as ONNX.
  const Result swapped =
      run_whittle("verify " + repack(s, archive, "cp exports/student.ts.pt exports/student.onnx", true, "b.tar.gz"));
  CHECK(swapped.code == 1);
  CHECK(swapped.out.find("FAIL export student.onnx") != std::string::npos);
}
