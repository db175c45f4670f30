// What a student trips over (issue 31), end to end: each case failed before its fix.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

#include "tests/cli/faults.h"

namespace fs = std::filesystem;
using namespace whittle::test;
using namespace whittle::test::faults;

TEST_CASE("an honest submission that smoke-tests on a slice and claims the whole test set verifies",
          "[student][submit]") {
  Scratch s;
  // A slice of the test set while developing, then the final model measured on the whole test set
  // with a second `data` line.
  const std::string archive =
      submitted_run(s,
                    "recipe sub\ndata synthetic size: 256 test_subset: 40\nmodel small_cnn width: 4\n"
                    "train 2 epochs batch: 64\nevaluate\nprune 50%\nretrain 1 epoch batch: 64\nevaluate\n"
                    "data synthetic size: 256\nevaluate\n");
  const Result v = verify_clean(s, archive);
  INFO(v.out);
  CHECK(v.code == 0);
  CHECK(std::regex_search(v.out, std::regex("ok +accuracy measured on +the whole test set \\(64 of 64 images\\) +the "
                                            "whole test set \\(#8 evaluate\\), 64 images")));
  CHECK(v.out.find("verified: every claim holds") != std::string::npos);
  // claims.json says what the accuracy was measured on, and verify holds it to the images it reads.
  const Result fewer = run_whittle(
      "verify " + repack(s, archive, "sed -i 's/\"images\": 64/\"images\": 60/' claims.json", true, "f.tar.gz"));
  INFO(fewer.out);
  CHECK(fewer.code == 1);
  CHECK(
      std::regex_search(fewer.out, std::regex("FAIL +accuracy measured on +the whole test set \\(60 of 64 images\\)")));
}

TEST_CASE("dropping test_subset reruns the evaluations only, and evaluate takes its own slice", "[student][cache]") {
  Scratch s;
  const std::string body =
      "model small_cnn width: 4\ntrain 2 epochs batch: 64\nprune 50%\nretrain 1 epoch batch: 64\nevaluate\n";
  s.write("r.recipe", "recipe slice\ndata synthetic size: 256 test_subset: 40\n" + body);
  const auto first = json_of(run_in(s));
  CHECK(first["stages"][5]["metrics"]["images"] == 40);
  s.write("r.recipe", "recipe slice\ndata synthetic size: 256\n" + body);
  const auto second = json_of(run_in(s));
  std::vector<std::string> ran;
  for (const auto& st : second["stages"])
    if (st["status"] == "ran") ran.push_back(st["kind"]);
  CHECK(ran == std::vector<std::string>{"evaluate"});
  CHECK(second["stages"][5]["metrics"]["images"] == 64);  // the synthetic set tests on a quarter of `size`
  // One recipe, a slice and the whole set, without a second data line.
  s.write("r.recipe", "recipe slice\ndata synthetic size: 256\n" + body + "evaluate test_subset: 50\n");
  const auto third = json_of(run_in(s));
  CHECK(third["stages"][6]["status"] == "ran");
  CHECK(third["stages"][6]["metrics"]["images"] == 50);
  CHECK(third["stages"][5]["status"] == "cached");
}

TEST_CASE("verify of a model below the course's bar says so, and still verifies", "[student][submit]") {
  Scratch s;
  // One epoch on 256 synthetic images: well below 90%.
  const std::string archive = submitted_run(s,
                                            "recipe sub\ndata synthetic size: 256\nmodel small_cnn width: 2\ntrain 1 "
                                            "epoch batch: 64 optimizer: sgd(lr: 0.0001)\nevaluate\n");
  const Result v = verify_clean(s, archive);
  INFO(v.out);
  CHECK(v.code == 0);
  CHECK(std::regex_search(v.out, std::regex("note: its test accuracy, [0-9.]+%, is below the course's 90% bar")));
}

TEST_CASE("plan says when the ops term dominates the score of weights quantized with float activations",
          "[student][score]") {
  Scratch s;
  s.write("r.recipe",
          "data synthetic\nmodel small_cnn\ntrain 1 epoch\nquantize 4 bits\nretrain 1 epoch\nquantize 4 bits "
          "activations: 8 bits\nevaluate\n");
  const Result r = run_whittle("plan " + (s.dir / "r.recipe").string());
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(std::regex_search(
      r.out,
      std::regex(
          "note: #3 quantize 4 bits: the activations stay at 32 bits and the ops term is [0-9]+% of course2025")));
  CHECK(r.out.find("`activations: 8 bits`: the ops term then counts max(weight, activation) bits (" +
                   (s.dir / "r.recipe").string() + ":4)") != std::string::npos);
  CHECK(r.out.find("note: #5") == std::string::npos);  // activations quantized there: no note
  // lint says it at the line, without the share (it builds no model)
  const Result l = run_whittle("lint " + (s.dir / "r.recipe").string());
  INFO(l.out);
  CHECK(l.code == 0);
  CHECK(l.out.find("note[N0002]: this quantize leaves the activations at 32 bits") != std::string::npos);
  CHECK(l.out.find("r.recipe:4:1") != std::string::npos);
  CHECK(l.out.find("r.recipe:6:1") == std::string::npos);
}

TEST_CASE("every table, plot, export and claim says what it was measured on: split and images", "[student][report]") {
  Scratch s;
  // A slice and the whole test set of one model, an export, and a convert whose int8 accuracy goes beside the float
  // one.
  s.write("r.recipe",
          "recipe on\ndata synthetic size: 256\nmodel small_cnn width: 4\ntrain 2 epochs batch: 64\nevaluate "
          "test_subset: 20\n"
          "evaluate\nexport \"" +
              (s.dir / "m.onnx").string() + "\"\nquantize 8 bits\nconvert\nevaluate\n");
  const Result run =
      run_whittle("run --threads 1 --cache " + (s.dir / "cache").string() + " " + (s.dir / "r.recipe").string());
  INFO(run.out);
  REQUIRE(run.code == 0);
  CHECK(std::regex_search(run.out, std::regex("#3 evaluate test_subset: 20 +ran +[0-9.]+ +[0-9.]+% test, 20 of 64 ")));
  CHECK(std::regex_search(run.out, std::regex("#4 evaluate +ran +[0-9.]+ +[0-9.]+% test, all 64 ")));
  CHECK(std::regex_search(
      run.out,
      std::regex("#7 convert: [0-9.]+% with int8 kernels where the float model had [0-9.]+% \\(test, all 64\\)")));
  if (run.out.find("no ONNX export") == std::string::npos)
    CHECK(std::regex_search(run.out, std::regex("exported .*m.onnx \\(read back: [0-9.]+% accuracy, [0-9.]+% agreement "
                                                "with the model, on test, all 64\\)")));
  const std::string out = (s.dir / "report").string();
  const Result rep =
      run_whittle("report --cache " + (s.dir / "cache").string() + " -o " + out + " " + (s.dir / "r.recipe").string());
  INFO(rep.out);
  REQUIRE(rep.code == 0);
  const std::string csv = s.read("report/results.csv"), md = s.read("report/results.md");
  CHECK(csv.rfind("recipe,stage,kind,where,split,images,split_images,", 0) == 0);
  CHECK(csv.find("on,3,evaluate,,test,20,64,") != std::string::npos);
  CHECK(csv.find("on,4,evaluate,,test,64,64,") != std::string::npos);
  CHECK(md.find("| measured on |") != std::string::npos);
  CHECK(md.find("| test, 20 of 64 |") != std::string::npos);
  if (fs::exists(s.dir / "report" / "accuracy_vs_score.gp")) {
    const std::string gp = s.read("report/accuracy_vs_score.gp");
    INFO(gp);
    CHECK(gp.find("[test, 20 of 64]") != std::string::npos);  // the slice's point says so
    CHECK(gp.find("set ylabel 'accuracy (%), measured on what each label says'") != std::string::npos);
    CHECK(gp.find("test accuracy (%)") == std::string::npos);
  }
}

TEST_CASE(
    "airbench's methods train the same bytes twice: augmentations, schedule, BN-bias lr, whitening, dirac, GELU, "
    "lookahead",
    "[student][airbench]") {
  const std::string recipe =
      "recipe ab\ndata synthetic size: 256 augment: [translate(pad: 2), alternate_flip()]\n"
      "model small_cnn width: 4\n"
      "train 3 epochs batch: 64 optimizer: sgd(lr: 0.2, nesterov: true) schedule: triangle() norm_bias_lr: "
      "64\nevaluate\n"
      "network ab(w: int = 4) {\n  whiten images: 100 -> gelu\n  conv $w channels init: dirac -> maxpool -> bn "
      "momentum: 0.4 learn_scale: false -> gelu\n"
      "  maxpool global -> linear bias: false scale: 1 / 9\n}\n"
      "model ab\ntrain 3 epochs batch: 64 lr_batch: 128 optimizer: sgd(lr: 0.2, nesterov: true) norm_bias_lr: 64 "
      "average: lookahead(every: 2)\nevaluate tta: flip\n";
  Scratch a, b;
  a.write("r.recipe", recipe);
  b.write("r.recipe", recipe);
  const auto ja = json_of(run_in(a)), jb = json_of(run_in(b));
  CHECK(entries_fingerprint(a.dir / "cache", ja) == entries_fingerprint(b.dir / "cache", jb));
  CHECK(ja["stages"][3]["metrics"]["accuracy"] == jb["stages"][3]["metrics"]["accuracy"]);
  CHECK(ja["stages"][6]["metrics"]["accuracy"] == jb["stages"][6]["metrics"]["accuracy"]);
  // lr_batch: 128 with batches of 64 trains at half the lr given.
  const std::string key = ja["stages"][5]["key"];
  const std::string log = a.read("cache/objects/" + key.substr(0, 2) + "/" + key + "/log.txt");
  INFO(log);
  CHECK(log.find("lr 0.1,") != std::string::npos);
}

TEST_CASE("evaluate tta: the run, the plan's preview and a verified submission count every view in the score",
          "[student][airbench][tta]") {
  Scratch s;
  const std::string recipe =
      "recipe tta\ndata synthetic size: 256\nmodel small_cnn width: 4\ntrain 2 epochs batch: 64\nevaluate\n"
      "evaluate tta: flip_translate\n";
  s.write("r.recipe", recipe);
  const auto plan =
      run_whittle("plan --format json --cache " + (s.dir / "cache").string() + " " + (s.dir / "r.recipe").string());
  INFO(plan.out);
  REQUIRE(plan.code == 0);
  const auto run = json_of(run_in(s));
  const auto& plain = run["stages"][3]["metrics"];
  const auto& tta = run["stages"][4]["metrics"];
  CHECK(tta["tta_views"] == 6);
  CHECK(tta["params"] == plain["params"]);
  // The parameter term once, the ops term six times.
  const double ops = plain["score_ops_share"].get<double>() * plain["score"].get<double>();
  CHECK(tta["score"].get<double>() == Approx(plain["score"].get<double>() + 5 * ops).epsilon(1e-9));
  // The preview says the same before anything ran.
  const auto pj = nlohmann::json::parse(plan.out.substr(plan.out.find('[')));
  bool previewed = false;
  for (const auto& st : pj)
    if (st["id"] == 4 && st.contains("preview")) {
      previewed = true;
      CHECK(st["preview"]["score"].get<double>() == Approx(tta["score"].get<double>()).epsilon(1e-9));
    }
  CHECK(previewed);
  // Submitted (the claims are of the model as that evaluation deploys it) and verified.
  const std::string archive = (s.dir / "sub.tar.gz").string();
  const Result sub = run_whittle("submit --cache " + (s.dir / "cache").string() + " -o " + archive + " " +
                                 (s.dir / "r.recipe").string());
  INFO(sub.out);
  REQUIRE(sub.code == 0);
  const Result v = verify_clean(s, archive);
  INFO(v.out);
  CHECK(v.code == 0);
  CHECK(v.out.find("verified: every claim holds") != std::string::npos);
}
