// End to end: pruning rounds, quantization-aware retraining, structured pruning and the score
// stages through `whittle run` on synthetic data.
#include <catch2/catch.hpp>

#include <regex>

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
  for (const auto& st : j["stages"])
    by_kind[st["kind"].get<std::string>() + (st["kind"] == "score" ? std::to_string(st["id"].get<int>()) : "")] = st;
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
      CHECK(st["metrics"]["preset_score"].get<double>() > 0);
      CHECK(st["metrics"].contains("score_p_u"));
    }
  CHECK(scores == 3);
  // The table prints every score stage's components.
  const Result table =
      run_whittle("run --threads 1 --cache " + (s.dir / "cache").string() + " " + (s.dir / "r.recipe").string());
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
                                     s.write("g.recipe",
                                             "data synthetic size: 64\nmodel small_cnn groups: 2\n"
                                             "prune 50% structured physical: true spare_first: false\n"));
  CHECK(grouped.code == 1);
  CHECK(grouped.out.find("grouped convolution") != std::string::npos);
  CHECK(grouped.out.find("g.recipe:3") != std::string::npos);
}

TEST_CASE("pruning during training: gradual reaches its sparsity on schedule, soft filter and slimming run",
          "[run][compress]") {
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
  const Result bad = run_whittle(
      "run --threads 1 --cache " + (s.dir / "cache").string() + " " +
      s.write("b.recipe",
              "data synthetic size: 64\nmodel small_cnn\ntrain 2 epochs sparsify: gradual(to: 50%, end: 5)\n"));
  CHECK(bad.code == 1);
  CHECK(bad.out.find("does not fit in 2 epochs") != std::string::npos);
}

TEST_CASE("an exported pruned and quantized model loads in Python PyTorch with the same test accuracy",
          "[run][compress][export]") {
  const std::string fashion = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(fashion + "/t10k-images-idx3-ubyte.gz")) {
    WHITTLE_SKIP("no Fashion-MNIST at " << fashion << " (Debian's dataset-fashion-mnist)");
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
    WHITTLE_SKIP("the Python half: /usr/bin/python3 cannot import torch (Debian's python3-torch)");
  }
  const Result py =
      run_whittle_cmd("/usr/bin/python3 " + std::string(WHITTLE_SOURCE_DIR) + "/scripts/whittle_export.py " +
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

TEST_CASE("convert runs int8 kernels with the float model's accuracy, the converted model is for inference only",
          "[run][compress][int8]") {
  Scratch s;
  const auto j = run_json(
      s,
      "data synthetic size: 512\nmodel small_cnn\ntrain 3 epochs\nevaluate\nconvert\nevaluate latency: cpu batch: 64\n"
      "evaluate latency: cpu latency_batch: 1\n");
  std::map<int, nlohmann::json> st;
  for (const auto& x : j["stages"]) st[x["id"].get<int>()] = x;
  CHECK(st[4]["metrics"]["int8_convs"].get<int>() >= 2);
  const double before = st[3]["metrics"]["accuracy"], after = st[5]["metrics"]["accuracy"];
  CHECK(after == Approx(before).margin(0.03));
  CHECK(st[5]["metrics"]["latency_ms"].get<double>() > 0);
  CHECK(st[5]["metrics"]["latency_batch"] == 64);
  // Latency of one image, timed at batch 1, the accuracy pass at its own batch (the same figure).
  CHECK(st[6]["metrics"]["latency_batch"] == 1);
  CHECK(st[6]["metrics"]["accuracy"] == st[5]["metrics"]["accuracy"]);
  const Result r = run_whittle(
      "run --threads 1 --cache " + (s.dir / "cache").string() + " " +
      s.write("t.recipe", "data synthetic size: 512\nmodel small_cnn\ntrain 3 epochs\nconvert\nretrain 1 epoch\n"));
  CHECK(r.code != 0);
  CHECK(r.out.find("`retrain` needs a float model, and this one was converted to int8 kernels") != std::string::npos);
  CHECK(r.out.find("t.recipe:5") != std::string::npos);
  CHECK(r.out.find("put `convert` after every train, prune and quantize") != std::string::npos);
}

TEST_CASE("a sensitivity scan guides a prune, and ThiNet slims a model", "[run][compress][sensitivity]") {
  Scratch s;
  const std::string recipe =
      "data synthetic size: 256\nmodel small_cnn\ntrain 2 epochs as base\n"
      "sensitivity amounts: [20%, 50%, 80%] max_drop: 100% images: 128 as scan\n"
      "prune 40% guide: $scan  # whittle: allow(prune_without_retrain)\nevaluate\n"
      "from $base\nprune 50% structured thinet physical: true\nretrain 1 epoch\nevaluate\n";
  const auto j = run_json(s, recipe);
  std::vector<nlohmann::json> prunes;
  nlohmann::json scan, trained;
  for (const auto& st : j["stages"]) {
    if (st["kind"] == "prune") prunes.push_back(st);
    if (st["kind"] == "sensitivity") scan = st;
    if (st["kind"] == "train") trained = st;
  }
  REQUIRE(prunes.size() == 2);
  CHECK(scan["metrics"]["scanned_layers"] == 4);
  CHECK(scan["metrics"]["picked_sparsity"].get<double>() == Approx(0.8).margin(1e-3));
  CHECK(scan["metrics"].contains("baseline_accuracy"));
  // The guided prune removes 40% of the weights of the layers it touches, the scan's picks scaled.
  CHECK(prunes[0]["metrics"]["sparsity"].get<double>() == Approx(0.4).margin(2e-3));
  // ThiNet, physically: a thinner model.
  CHECK(prunes[1]["metrics"]["params"].get<double>() < trained["metrics"]["params"].get<double>() * 0.7);
  CHECK(prunes[1]["metrics"]["macs"].get<double>() < trained["metrics"]["macs"].get<double>());
  // The run table shows the scan; a second run takes everything from the cache.
  const Result table =
      run_whittle("run --threads 1 --cache " + (s.dir / "cache").string() + " " + (s.dir / "r.recipe").string());
  CHECK(table.code == 0);
  CHECK(table.out.find("pick") != std::string::npos);
  CHECK(table.out.find("conv2") != std::string::npos);
  // Changing the scan's tolerance reruns the scan and the guided prune, not the train.
  const Result dry = run_whittle("run --dry-run --cache " + (s.dir / "cache").string() + " " +
                                 s.write("r.recipe", std::string(recipe).replace(recipe.find("100%"), 4, "50%")));
  INFO(dry.out);
  auto line_of = [&](const std::string& what) {
    const auto at = dry.out.find(what);
    return at == std::string::npos ? std::string() : dry.out.substr(at, dry.out.find('\n', at) - at);
  };
  CHECK(line_of("#2 train").find("cached") != std::string::npos);
  CHECK(line_of("#3 sensitivity").find("would run") != std::string::npos);
  CHECK(line_of("#4 prune").find("would run") != std::string::npos);
  CHECK(line_of("#6 prune").find("cached") != std::string::npos);
}

namespace {

/// `whittle plan --format json` of a recipe file, on the scratch folder's cache, parsed.
nlohmann::json plan_json(const Scratch& s, const std::string& file) {
  const Result plan = run_whittle("plan --format json --cache " + (s.dir / "cache").string() + " " + file);
  INFO(plan.out);
  REQUIRE(plan.code == 0);
  return nlohmann::json::parse(plan.out);
}

}  // namespace

TEST_CASE("plan previews every stage's model, and the run agrees with it", "[run][compress][preview]") {
  Scratch s;
  const std::string recipe =
      "data synthetic size: 256\nmodel small_cnn\ntrain 1 epoch\nprune 50%\nretrain 1 epoch\n"
      "prune 30% structured physical: true\nretrain 1 epoch\nquantize 4 bits\nevaluate\nscore course2025\n";
  const std::string file = s.write("r.recipe", recipe);
  const auto preview = plan_json(s, file);
  const auto run = run_json(s, recipe);
  int compared = 0;
  for (const auto& st : run["stages"]) {
    if (st["kind"] == "data") continue;
    const auto& pv = preview.at(st["id"].get<std::size_t>());
    INFO("#" << st["id"] << " " << st["kind"]);
    REQUIRE(pv.contains("preview"));
    // Everything follows from the recipe, except which weights pruned before go with the filters
    // a structured prune removes (an estimate from then on), and zeros a 4-bit rounding makes.
    CHECK(pv["preview_estimated"] == (st["id"] >= 5));
    std::vector<const char*> exact = {"params", "macs", "bits"};
    if (st["id"] < 5) exact = {"params", "macs", "bits", "nonzero", "sparsity", "score"};
    for (const char* m : exact)
      if (st["metrics"].contains(m)) CHECK(pv["preview"][m].get<double>() == Approx(st["metrics"][m].get<double>()));
    ++compared;
  }
  CHECK(compared == 9);
  // The text table has the columns, and a global structured prune is marked as an estimate.
  const Result text = run_whittle(
      "plan --cache " + (s.dir / "cache").string() + " " +
      s.write("g.recipe",
              "data synthetic\nmodel small_cnn\ntrain 1 epoch\nprune 50% global structured\nretrain 1 epoch\n"));
  INFO(text.out);
  CHECK(text.out.find("MACs") != std::string::npos);
  CHECK(text.out.find("~") != std::string::npos);
  CHECK(run_whittle("plan --no-preview --cache " + (s.dir / "cache").string() + " " + file).out.find("MACs") ==
        std::string::npos);
}

TEST_CASE("plan previews a score stage's own preset, as the run computes it", "[run][compress][preview]") {
  Scratch s;
  const std::string recipe =
      "data synthetic size: 256\nmodel small_cnn\ntrain 1 epoch\nscore course2021\nscore course2024 count: "
      "conv_linear\nevaluate\n";
  const std::string file = s.write("r.recipe", recipe);
  const auto preview = plan_json(s, file);
  const auto run = run_json(s, recipe);
  int scores = 0;
  for (const auto& st : run["stages"]) {
    if (st["kind"] != "score") continue;
    const auto& pv = preview.at(st["id"].get<std::size_t>());
    INFO("#" << st["id"]);
    CHECK(pv["preview_score_preset"] == (st["id"] == 3 ? "course2021" : "course2024"));
    CHECK(pv["preview"]["preset_score"].get<double>() == Approx(st["metrics"]["preset_score"].get<double>()));
    // The score column is the recipe's: its last `score` stage's preset, on every row.
    CHECK(pv["score_preset"] == "course2024");
    CHECK(pv["preview_score"] == preview.at(2)["preview"]["score_course2024"]);
    ++scores;
  }
  CHECK(scores == 2);
  // A score stage that counts as its preset does records the preset's figure: the train's model's.
  for (const auto& st : run["stages"])
    if (st["id"] == 3)
      CHECK(st["metrics"]["score_course2021"].get<double>() ==
            Approx(preview.at(2)["preview"]["score_course2021"].get<double>()));
  // `count: conv_linear` is not course2024's own count: its figure has a column of its own.
  CHECK(preview.at(4)["preview"]["preset_score"] != preview.at(4)["preview"]["score_course2024"]);
  const Result text = run_whittle("plan --cache " + (s.dir / "cache").string() + " " + file);
  CHECK(std::regex_search(text.out, std::regex("bits +course2024 +score stage's preset\n")));
  CHECK(text.out.find(
            "score column: course2024 of the model at that point (the preset of the recipe's last `score` stage") !=
        std::string::npos);
  CHECK(text.out.find("course2021 ") != std::string::npos);
  // --score shows another preset, and says so.
  const Result other = run_whittle("plan --score course2024 --cache " + (s.dir / "cache").string() + " " + file);
  CHECK(std::regex_search(other.out, std::regex("bits +course2024")));
  CHECK(other.out.find("score column: course2024 of the model at that point (as --score asks)") != std::string::npos);
  CHECK(run_whittle("plan --score course2020 " + file).code != 0);
}

TEST_CASE("report writes the results table and draws the plots with gnuplot", "[run][report]") {
  Scratch s;
  const std::string recipe =
      "recipe rep\ndata synthetic size: 256\nmodel small_cnn\ntrain 2 epochs\nevaluate metrics: [accuracy, precision, "
      "recall, f1]\n"
      "sensitivity amounts: [30%, 60%] images: 64\n"
      "sweep amount in [30%, 60%] { prune $amount -> retrain 1 epoch -> evaluate }\n";
  const std::string cache = (s.dir / "cache").string();
  const std::string out = (s.dir / "out").string();
  const std::string file = s.write("r.recipe", recipe);
  // Before any run: a clear error.
  const Result none = run_whittle("report --cache " + cache + " -o " + out + " " + file);
  CHECK(none.code == 1);
  CHECK(none.out.find("whittle run") != std::string::npos);
  run_json(s, recipe);
  const Result r = run_whittle("report --cache " + cache + " -o " + out + " " + file);
  INFO(r.out);
  const std::string md = s.read("out/results.md");
  CHECK(md.find("| rep | #3 evaluate of #2 train 2 epochs |") != std::string::npos);
  // What some stage measured gets a column, in the report and in the run table.
  CHECK(md.find("| packed MiB | precision | recall | F1 | sparse MiB |") != std::string::npos);
  const Result table = run_whittle("run --cache " + cache + " " + file);
  CHECK(std::regex_search(table.out, std::regex("course2025 +precision +recall +F1 +sparse MiB\n")));
  CHECK(md.find("#10 evaluate of #9 retrain 1 epoch [sweep amount=60%] |") != std::string::npos);
  const std::string csv = s.read("out/results.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 4);                             // the header and three evaluations
  CHECK(s.read("out/sparsity_rep.csv").find("conv2,conv2,") != std::string::npos);  // layer, block
  // The points are named as a student names them, never by a stage number; the axis says the preset.
  const std::string acc = s.read("out/accuracy_vs_score.gp");
  CHECK(acc.find("'amount=60%'") != std::string::npos);
  CHECK(acc.find("'#10'") == std::string::npos);
  CHECK(acc.find("score (course2025, lower is better)") != std::string::npos);
  CHECK(acc.find("90% target") != std::string::npos);
  // The weights of the model a submission packs, as trained and after the prune.
  const std::string w = s.read("out/weights_rep.gp");
  CHECK(w.find("as trained (#2 train)") != std::string::npos);
  CHECK(w.find("the final model (#9 retrain [sweep amount=60%])") != std::string::npos);
  CHECK(w.find("submitted") == std::string::npos);  // nothing is submitted yet
  // --model names another model for them; a name that is not there is an error naming the names.
  CHECK(run_whittle("report --model nope --cache " + cache + " -o " + out + "3 " + file).code == 1);
  // A run record names the same run.
  const Result by_record = run_whittle("report -o " + out + "2 " + cache + "/runs/rep.yaml");
  CHECK(by_record.out.find("#3 evaluate") != std::string::npos);
  if (run_whittle_cmd("gnuplot --version").code != 0) {
    WARN("gnuplot is not installed: the plots are not checked");
    CHECK(r.code == 1);
    return;
  }
  CHECK(r.code == 0);
  CHECK(r.out.find("warning: gnuplot") ==
        std::string::npos);  // every plot draws without a complaint, one-epoch stages included
  for (const char* plot : {"accuracy_vs_score", "training", "sparsity_rep", "sensitivity_rep_4", "sweep_rep_accuracy",
                           "sweep_rep_score", "weights_rep"}) {
    INFO(plot);
    CHECK(s.read(std::string("out/") + plot + ".png").rfind("\x89PNG", 0) == 0);
    CHECK(s.read(std::string("out/") + plot + ".svg").find("<svg") != std::string::npos);
    CHECK(s.read(std::string("out/") + plot + ".gp").find("plot ") != std::string::npos);
  }
}

TEST_CASE("a submission verifies, and a changed model, claim or path does not", "[run][submit]") {
  Scratch s;
  const std::string recipe =
      "recipe sub\nuse \"lib/common.recipe\"\ndata synthetic size: 256\nmodel small_cnn\ntrain 2 epochs\n"
      "half_prune\nquantize 8 bits\nevaluate\n";
  std::filesystem::create_directories(s.dir / "lib");
  s.write("lib/common.recipe", "define half_prune() {\n  prune 50%\n  retrain 1 epoch\n}\n");
  const auto j = run_json(s, recipe);
  const std::string cache = (s.dir / "cache").string();
  const std::string archive = (s.dir / "sub.tar.gz").string();
  const Result sub = run_whittle("submit --cache " + cache + " -o " + archive + " " + (s.dir / "r.recipe").string());
  INFO(sub.out);
  REQUIRE(sub.code == 0);
  const Result listing = run_whittle_cmd("tar tzf " + archive);
  for (const char* f : {"sub/recipe/r.recipe", "sub/recipe/lib/common.recipe", "sub/run.yaml", "sub/model.safetensors",
                        "sub/claims.json", "sub/MANIFEST.sha256", "sub/report/results.md"})
    CHECK(listing.out.find(f) != std::string::npos);
  // Verified on "another machine": nothing of the cache or the recipe's folder is needed.
  const std::string moved = (s.dir / "elsewhere.tar.gz").string();
  std::filesystem::rename(archive, moved);
  std::filesystem::remove_all(cache);
  const Result ok = run_whittle("verify " + moved);
  INFO(ok.out);
  CHECK(ok.code == 0);
  CHECK(ok.out.find("verified: every claim holds") != std::string::npos);
  CHECK(ok.out.find("FAIL") == std::string::npos);

  // One byte of the model changed: the manifest catches it.
  const Result byte = run_whittle(
      "verify " + repack(s, moved, "printf '\\001' | dd of=model.safetensors bs=1 seek=2000 conv=notrunc 2>/dev/null",
                         false, "b.tar.gz"));
  CHECK(byte.code == 1);
  CHECK(byte.out.find("`model.safetensors` does not match its manifest checksum") != std::string::npos);
  // The model of another stage (the unquantized retrain), checksums re-summed: recomputing catches it.
  const auto again = run_json(s, recipe);
  std::string retrain_key;
  for (const auto& st : again["stages"])
    if (st["kind"] == "retrain") retrain_key = st["key"];
  const std::string other =
      (s.dir / "cache" / "objects" / retrain_key.substr(0, 2) / retrain_key / "model.safetensors").string();
  const Result swapped =
      run_whittle("verify " + repack(s, moved, "cp " + other + " model.safetensors", true, "m.tar.gz"));
  INFO(swapped.out);
  CHECK(swapped.code == 1);
  CHECK(swapped.out.find("FAIL bits") != std::string::npos);
  CHECK(swapped.out.find("NOT verified") != std::string::npos);
  // A claim raised, checksums re-summed: the test set says otherwise.
  const Result claimed =
      run_whittle("verify " + repack(s, moved, "sed -i 's/\"accuracy\": [0-9.e-]*/\"accuracy\": 0.99/' claims.json",
                                     true, "c.tar.gz"));
  INFO(claimed.out);
  CHECK(claimed.code == 1);
  CHECK(claimed.out.find("FAIL test accuracy") != std::string::npos);
  // A claim changed in claims.json and the run record alike: recomputation still fails it.
  const Result both = run_whittle("verify " + repack(s, moved,
                                                     "sed -i 's/\"sparsity\": [0-9.e-]*/\"sparsity\": 0.9/' "
                                                     "claims.json && sed -i 's/^\\( *sparsity: \\).*/\\10.9/' run.yaml",
                                                     true, "d.tar.gz"));
  CHECK(both.code == 1);
  CHECK(both.out.find("FAIL sparsity") != std::string::npos);
  // Paths that leave the folder, and links, are refused before anything is unpacked.
  const Result escape = run_whittle_cmd("cd " + (s.dir / "x").string() +
                                        " && tar czf ../e.tar.gz sub --transform 's|sub/run.yaml|sub/../../evil|' && " +
                                        std::string(WHITTLE_BIN) + " verify ../e.tar.gz");
  CHECK(escape.code == 1);
  CHECK(escape.out.find("leaves the submission's folder") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(s.dir / "evil"));
  const Result link = run_whittle("verify " + repack(s, moved, "ln -s /etc/passwd extra", true, "l.tar.gz"));
  CHECK(link.code == 1);
  CHECK(link.out.find("not a regular file") != std::string::npos);
}

TEST_CASE("verify finds the data where the grader keeps it", "[run][submit]") {
  const std::filesystem::path cifar =
      std::filesystem::path(WHITTLE_SOURCE_DIR) / ".." / "shared" / "data" / "cifar-10-batches-bin";
  if (!std::filesystem::exists(cifar)) {
    WHITTLE_SKIP("no CIFAR-10 at " << cifar << "");
  }
  Scratch s;
  // The student's machine keeps CIFAR-10 at a path the grader's does not have.
  std::filesystem::create_directories(s.dir / "student");
  std::filesystem::create_directory_symlink(std::filesystem::canonical(cifar), s.dir / "student" / "cifar");
  const std::string recipe = "recipe cif\ndata cifar10 root: \"" + (s.dir / "student" / "cifar").string() +
                             "\" subset: 256\nmodel small_cnn\ntrain 1 epoch\nevaluate\n";
  run_json(s, recipe);
  const std::string archive = (s.dir / "cif.tar.gz").string();
  REQUIRE(run_whittle("submit --cache " + (s.dir / "cache").string() + " -o " + archive + " " +
                      (s.dir / "r.recipe").string())
              .code == 0);
  std::filesystem::remove(s.dir / "student" / "cifar");
  std::filesystem::create_directories(s.dir / "grader");
  std::filesystem::create_directory_symlink(std::filesystem::canonical(cifar),
                                            s.dir / "grader" / "cifar-10-batches-bin");
  // Without --data, and without WHITTLE_DATA (a developer's shell may set it): the data is not found.
  const Result lost = run_whittle_cmd(std::string("env -u WHITTLE_DATA ") + WHITTLE_BIN + " verify " + archive);
  CHECK(lost.code == 1);
  CHECK(lost.out.find("--data") != std::string::npos);
  const Result found = run_whittle("verify --data " + (s.dir / "grader").string() + " " + archive);
  INFO(found.out);
  CHECK(found.code == 0);
  CHECK(found.out.find("verified: every claim holds") != std::string::npos);
}
