// The tools of a GPU session, run on the CPU so that they keep working between GPU sessions:
// bench/gpu_compare.sh in its CPU setting (both sides train each model, and the models are the same:
// their parameter counts agree), and scripts/continue_run.sh (a run cut at a time limit, carried to
// the next session as a pack in parts, goes on there).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tests/cli/helpers.h"

using namespace whittle::test;
namespace fs = std::filesystem;

TEST_CASE("bench/gpu_compare.sh --smoke trains fastnet, ResNet18 and DenseNet-B on both sides", "[bench]") {
  if (run_whittle_cmd("/usr/bin/python3 -c 'import torch'").code != 0) {
    WHITTLE_SKIP("no python3-torch");
  }
  if (!fashion_mnist_installed()) WHITTLE_SKIP("no Fashion-MNIST (Debian's dataset-fashion-mnist)");
  const Result r = run_whittle_cmd(std::string("WHITTLE=") + WHITTLE_BIN + " " + WHITTLE_SOURCE_DIR +
                                   "/bench/gpu_compare.sh --smoke --repeats 1");
  INFO(r.out);
  REQUIRE(r.code == 0);
  for (const char* arch : {"fastnet ", "resnet18 ", "densenet_b "})
    CHECK(r.out.find(std::string("  ") + arch) != std::string::npos);
  std::size_t ratios = 0;
  for (auto at = r.out.find("whittle / pytorch:"); at != std::string::npos;
       at = r.out.find("whittle / pytorch:", at + 1))
    ++ratios;
  CHECK(ratios == 3);
  CHECK(r.out.find("NOT the same model") == std::string::npos);
}

TEST_CASE("scripts/continue_run.sh cuts a run at its time limit, and the next call goes on from the pack's parts",
          "[bench][pack]") {
  Scratch s;
  const std::string script = std::string("cd ") + s.dir.string() + " && WHITTLE=" + WHITTLE_BIN + " " +
                             WHITTLE_SOURCE_DIR + "/scripts/continue_run.sh ";
  auto slurp = [&](const std::string& f) { return s.read(f); };
  // Too long for its budget: cut, and what was done comes back as parts.
  s.write("long.recipe",
          "data synthetic size: 20000\nmodel small_cnn width: 32\ntrain 60 epochs batch: 32\nevaluate\n");
  Result r = run_whittle_cmd(script + "long.recipe 12 in one --threads 1");
  INFO(r.out << slurp("one/run.txt"));
  CHECK(r.code == 3);
  CHECK(fs::exists(s.dir / "one" / "long.pack.part-00"));
  CHECK(r.out.find("packed 2 entries") != std::string::npos);
  const bool checkpointed = r.out.find("checkpoints #2 train") != std::string::npos;
  fs::remove_all(s.dir / ".whittle");  // the next session's machine starts bare
  r = run_whittle_cmd(script + "long.recipe 12 one two --threads 1");
  INFO(r.out << slurp("two/run.txt"));
  CHECK(r.code == 3);
  CHECK(r.out.find("unpacked 2 entries") != std::string::npos);
  if (checkpointed)
    CHECK(slurp("two/run.txt").find("resuming #2 train after epoch") != std::string::npos);
  else
    WARN("no epoch finished in 12 s on this machine: the resume was not checked");
  // One that fits finishes (0), and its parts make a bare cache whole; `--set` reaches the pack too.
  s.write(
      "short.recipe",
      "let epochs = 1 epoch\ndata synthetic size: 256\nmodel small_cnn width: 4\ntrain $epochs batch: 64\nevaluate\n");
  r = run_whittle_cmd(script + "short.recipe 300 in three --threads 1 --set 'epochs=2 epochs'");
  INFO(r.out << slurp("three/run.txt"));
  CHECK(r.code == 0);
  CHECK(r.out.find("packed 4 entries") != std::string::npos);
  fs::remove_all(s.dir / ".whittle");
  r = run_whittle_cmd(script + "short.recipe 300 three four --threads 1 --set 'epochs=2 epochs'");
  INFO(r.out << slurp("four/run.txt"));
  CHECK(r.code == 0);
  CHECK(slurp("four/run.txt").find(" ran ") == std::string::npos);
  CHECK(slurp("four/run.txt").find("cached") != std::string::npos);
}
