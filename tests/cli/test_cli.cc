// End-to-end: the `whittle` binary as a user runs it.
#include <catch2/catch.hpp>

#include "tests/cli/helpers.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace {

using whittle::test::run_whittle;
using whittle::test::Scratch;

const std::string good = "data cifar10\nmodel resnet18\ntrain 5 epochs\nevaluate\n";

}  // namespace

TEST_CASE("lint exits 0 on clean recipes and 1 on errors", "[cli]") {
  Scratch s;
  CHECK(run_whittle("lint " + s.write("ok.recipe", good)).code == 0);
  auto r = run_whittle("lint " + s.write("bad.recipe", "data cifar10\nmodel resnet18\nprnue 20%\nevaluate\n"));
  CHECK(r.code == 1);
  CHECK(r.out.find("error[E0102]: unknown stage `prnue`") != std::string::npos);
  CHECK(r.out.find("did you mean `prune`?") != std::string::npos);
  CHECK(r.out.find("error: 1 error in 1 file") != std::string::npos);
}

TEST_CASE("lint --deny-warnings turns warnings into a failure", "[cli]") {
  Scratch s;
  const std::string f = s.write("w.recipe", "data cifar10\nmodel resnet18\ntrain 5 epochs\n");
  CHECK(run_whittle("lint " + f).code == 0);
  CHECK(run_whittle("lint --deny-warnings " + f).code == 1);
}

TEST_CASE("lint --format json is one array for all files", "[cli]") {
  Scratch s;
  const std::string a = s.write("a.recipe", "data cifar10\nmodel resnet18\nprune 0.5\n");
  const std::string b = s.write("b.recipe", "model resnet18\n");
  auto r = run_whittle("lint --format json " + a + " " + b);
  CHECK(r.code == 1);
  auto j = nlohmann::json::parse(r.out);
  REQUIRE(j.is_array());
  std::set<std::string> files, codes;
  for (const auto& d : j) {
    files.insert(d["file"].get<std::string>());
    codes.insert(d["code"].get<std::string>());
  }
  CHECK(files.size() == 2);
  CHECK(codes.count("E0207") == 1);
  CHECK(codes.count("E0302") == 1);
  CHECK(nlohmann::json::parse(run_whittle("lint --format json " + s.write("c.recipe", good)).out).empty());
}

TEST_CASE("one format vocabulary: text and json everywhere, what a command adds, the old names still taken", "[cli]") {
  Scratch s;
  const std::string f = s.write("v.recipe", "data synthetic\nmodel small_cnn\ntrain 1 epoch\nevaluate\n");
  const std::string cache = " --cache " + (s.dir / "c").string();
  for (const std::string& cmd : std::vector<std::string>{
           "lint --format text", "lint --format full", "lint --format json", "lint --format concise",
           "plan --no-preview --format text" + cache, "plan --no-preview --format json" + cache, "graph --format text",
           "graph --format dot", "run --dry-run --format text" + cache, "run --dry-run --format table" + cache}) {
    const auto r = run_whittle(cmd + " " + f);
    INFO(cmd << ": " << r.out);
    CHECK(r.code == 0);
  }
  const auto bad = run_whittle("plan --format yaml " + f);
  CHECK(bad.code == 2);
  CHECK(bad.out.find("text") != std::string::npos);
  CHECK(run_whittle("graph --format json " + f).code == 2);  // graph has text and dot only
}

TEST_CASE("lint --format concise prints one line per problem", "[cli]") {
  Scratch s;
  auto r = run_whittle("lint --format concise " +
                       s.write("c.recipe", "data cifar10\nmodel resnet18\ntrain 20%\nevaluate\n"));
  CHECK(r.code == 1);
  CHECK(r.out.find("c.recipe:3:7: error[E0201]: `train` takes epochs, not a percentage") != std::string::npos);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
}

TEST_CASE("lint --set overrides a let, and a bad --set is a usage error", "[cli]") {
  Scratch s;
  const std::string f =
      s.write("s.recipe", "let rounds = 2\ndata cifar10\nmodel resnet18\nrepeat $rounds { evaluate }\n");
  CHECK(run_whittle("lint --set rounds=0 " + f).code == 1);
  CHECK(run_whittle("lint --set rounds=3 " + f).code == 0);
  CHECK(run_whittle("lint --set rounds " + f).code == 2);
}

TEST_CASE("check prints every stage with resolved and defaulted parameters", "[cli]") {
  Scratch s;
  auto r = run_whittle("check " + s.write("k.recipe", "recipe k\n" + good));
  CHECK(r.code == 0);
  CHECK(r.out.find("recipe k: 4 stages") != std::string::npos);
  CHECK(r.out.find("#2 train") != std::string::npos);
  CHECK(r.out.find("batch            128  (default)") != std::string::npos);
  CHECK(run_whittle("check " + s.write("e.recipe", "prune 20%\n")).code == 1);
}

TEST_CASE("fmt rewrites in place, --check reports, broken files are left alone", "[cli]") {
  Scratch s;
  const std::string f = s.write("f.recipe", "data   cifar10\nmodel resnet18 ; evaluate\n");
  auto check = run_whittle("fmt --check " + f);
  CHECK(check.code == 1);
  CHECK(check.out.find("would reformat") != std::string::npos);
  CHECK(s.read("f.recipe") == "data   cifar10\nmodel resnet18 ; evaluate\n");
  CHECK(run_whittle("fmt " + f).code == 0);
  CHECK(s.read("f.recipe") == "data cifar10\nmodel resnet18\nevaluate\n");
  CHECK(run_whittle("fmt --check " + f).code == 0);
  const std::string broken = "data cifar10 [\n";
  const std::string b = s.write("b.recipe", broken);
  CHECK(run_whittle("fmt " + b).code == 1);
  CHECK(s.read("b.recipe") == broken);
  for (const auto& e : fs::directory_iterator(s.dir)) CHECK(e.path().string().find("whittle-tmp") == std::string::npos);
}

TEST_CASE("fmt - formats standard input", "[cli]") {
  Scratch s;
  const std::string f = s.write("in.recipe", "evaluate   metrics:[accuracy]\n");
  auto r = run_whittle("fmt - < " + f);
  CHECK(r.code == 0);
  CHECK(r.out == "evaluate metrics: [accuracy]\n");
}

TEST_CASE("doc lists the catalog, every stage runnable", "[cli]") {
  auto all = run_whittle("doc");
  CHECK(all.code == 0);
  CHECK(all.out.find("sensitivity") != std::string::npos);
  CHECK(all.out.find("○") == std::string::npos);
  auto prune = run_whittle("doc prune");
  CHECK(prune.code == 0);
  CHECK(prune.out.find("amount *") != std::string::npos);
  CHECK(run_whittle("doc sgd").out.find("learning rate") != std::string::npos);
  auto bad = run_whittle("doc prnue");
  CHECK(bad.code == 1);
  CHECK(bad.out.find("did you mean `prune`?") != std::string::npos);
  // The standard library's defines: listed with their file, and each in full with its signature and comment.
  for (const char* d : {"lr_rewinding", "finetuning", "prune_retrain", "filter_prune"}) {
    INFO(d);
    CHECK(all.out.find(std::string("  ") + d + " ") != std::string::npos);
    const auto one = run_whittle(std::string("doc ") + d);
    CHECK(one.code == 0);
    CHECK(one.out.find(std::string(d) + "(") == 0);
    CHECK(one.out.find("use \"std/") != std::string::npos);
  }
  CHECK(run_whittle("doc lr_rewinding").out.find("rounds: int = 7") != std::string::npos);
  CHECK(run_whittle("doc lr_rewinding").out.find("replaying the last `epochs`") != std::string::npos);
  CHECK(run_whittle("doc lr_rewindin").out.find("did you mean `lr_rewinding`?") != std::string::npos);
  // The architectures, with their knobs and counts, and the score presets.
  CHECK(all.out.find("  resnet18           11173962 params  555.4M MACs") != std::string::npos);
  const auto dense = run_whittle("doc densenet");
  CHECK(dense.code == 0);
  CHECK(dense.out.find("1000618 parameters, 125341440 MACs") != std::string::npos);
  CHECK(dense.out.find("  growth ") != std::string::npos);
  CHECK(run_whittle("doc resnet18").out.find("  growth ") == std::string::npos);
  const auto preset = run_whittle("doc course2021");
  CHECK(preset.code == 0);
  CHECK(preset.out.find("ops / 834362880 + params / 5586981 * (1 - sparsity)") != std::string::npos);
  CHECK(preset.out.find("convention: profiler") != std::string::npos);
  CHECK(run_whittle("doc course2012").out.find("did you mean `course2021`?") != std::string::npos);
}

TEST_CASE("explain describes codes and lints", "[cli]") {
  CHECK(run_whittle("explain W0002").out.find("prune_without_retrain") != std::string::npos);
  CHECK(run_whittle("explain prune_without_retrain").code == 0);
  CHECK(run_whittle("explain E9999").code == 1);
}

TEST_CASE("an unknown command suggests the nearest one", "[cli]") {
  auto r = run_whittle("lnit x");
  CHECK(r.code == 2);
  CHECK(r.out.find("did you mean `lint`?") != std::string::npos);
  CHECK(run_whittle("--version").out.find("whittle ") == 0);
}

TEST_CASE("use is relative to the including file, wherever whittle runs", "[cli]") {
  Scratch s;
  fs::create_directories(s.dir / "lib");
  s.write("lib/stages.recipe", "use \"more.recipe\"\ndefine shrink(amount: percent = 30%) { more $amount }\n");
  s.write("lib/more.recipe", "define more(a: percent) {\n  prune $a\n  retrain 1 epoch\n}\n");
  const std::string f = s.write(
      "main.recipe", "use \"lib/stages.recipe\"\ndata cifar10\nmodel resnet18\ntrain 5 epochs\nshrink\nevaluate\n");
  auto r = run_whittle("lint --deny-warnings " + f);
  INFO(r.out);
  CHECK(r.code == 0);
  auto c = run_whittle("check " + f);
  CHECK(c.out.find("amount       30%") != std::string::npos);
  s.write("lib/more.recipe", "use \"stages.recipe\"\n");
  auto cyc = run_whittle("lint " + f);
  CHECK(cyc.code == 1);
  CHECK(cyc.out.find("`use` cycle: stages.recipe → more.recipe → stages.recipe") != std::string::npos);
}

TEST_CASE("a path that is not a regular file is refused, not read", "[cli]") {
  Scratch s;
  auto r = run_whittle("lint " + s.write("dev.recipe", "use \"/dev/zero\"\ndata cifar10\nmodel resnet18\nevaluate\n"));
  CHECK(r.code == 1);
  CHECK(r.out.find("E0106") != std::string::npos);
}

TEST_CASE("every shipped pipeline lints clean", "[cli]") {
  auto r = run_whittle("lint --deny-warnings " + std::string(WHITTLE_SOURCE_DIR) + "/pipelines/*.recipe");
  INFO(r.out);
  CHECK(r.code == 0);
}

TEST_CASE("every command takes one value per --set, so the recipe after it is the recipe", "[cli]") {
  Scratch s;
  const std::string r = s.write("r.recipe", "let w = 4\ndata synthetic size: 128\nmodel small_cnn width: $w\n");
  for (const std::string cmd : {"lint", "check", "plan --no-preview"}) {
    const auto out = run_whittle(cmd + " --set w=2 --set w=3 " + r);
    INFO(cmd << "\n" << out.out);
    CHECK(out.out.find("is required") == std::string::npos);
    CHECK(out.code == 0);
  }
  // report: no run yet is its own error, not a missing argument
  const auto rep = run_whittle("report -o " + (s.dir / "out").string() + " --set w=2 " + r);
  INFO(rep.out);
  CHECK(rep.out.find("is required") == std::string::npos);
  CHECK(rep.out.find("whittle run") != std::string::npos);
}
