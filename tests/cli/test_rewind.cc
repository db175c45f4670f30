// End to end: weight rewinding (docs/language.md, "Meanings that are fixed") through `whittle run`.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/cli/helpers.h"

using namespace whittle::test;

namespace {

std::map<std::string, nlohmann::json> by_kind(const nlohmann::json& run) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& st : run["stages"]) out[st["kind"].get<std::string>()] = st;
  return out;
}

std::string rewind_recipe(int snapshot_every, int k) {
  return "data synthetic size: 256\nmodel small_cnn\n"
         "train 4 epochs optimizer: sgd(lr: 0.05) schedule: step(at: [2], gamma: 0.1) snapshot_every: " +
         std::to_string(snapshot_every) +
         "\nprune 50% global\nretrain 2 epochs rewind: weights(epoch: " + std::to_string(k) + ")\nevaluate\n";
}

}  // namespace

TEST_CASE("weight rewinding from a snapshot and from a replay of the train's first epochs agree exactly",
          "[run][rewind]") {
  // With a snapshot every 2 epochs, epoch 2 is on disk; with one every 3, epoch 2 must be replayed
  // from the start. `snapshot_every` is not in the train's key, so both trains are the same run.
  Scratch a, b;
  const auto with_snapshot = by_kind(run_json(a, rewind_recipe(2, 2)));
  const Result replay_table = run_whittle("run --threads 1 --cache " + (b.dir / "cache").string() + " " +
                                          b.write("r.recipe", rewind_recipe(3, 2)));
  INFO(replay_table.out);
  REQUIRE(replay_table.code == 0);
  CHECK(replay_table.out.find("replaying epochs 1 to 2 of train #2") != std::string::npos);
  CHECK(run_whittle("run --threads 1 --cache " + (a.dir / "cache").string() + " " + (a.dir / "r.recipe").string())
            .out.find("replaying") == std::string::npos);
  const auto replayed = by_kind(run_json(b, rewind_recipe(3, 2)));
  CHECK(with_snapshot.at("train")["metrics"]["train_loss"] == replayed.at("train")["metrics"]["train_loss"]);
  CHECK(with_snapshot.at("retrain")["metrics"]["train_loss"] == replayed.at("retrain")["metrics"]["train_loss"]);
  CHECK(with_snapshot.at("evaluate")["metrics"]["loss"] == replayed.at("evaluate")["metrics"]["loss"]);
  CHECK(with_snapshot.at("retrain")["metrics"]["rewound_to_epoch"] == 2);
  // The masks survive the rewinding: the retrained model is exactly as sparse as the pruned one.
  CHECK(with_snapshot.at("retrain")["metrics"]["nonzero"] == with_snapshot.at("prune")["metrics"]["nonzero"]);
}

TEST_CASE("changing K reruns the retrain only, and K plus the retrain must fit in the train", "[run][rewind]") {
  Scratch s;
  const auto first = by_kind(run_json(s, rewind_recipe(2, 2)));
  const auto other_k = by_kind(run_json(s, rewind_recipe(2, 0)));
  CHECK(other_k.at("train")["status"] == "cached");
  CHECK(other_k.at("prune")["status"] == "cached");
  CHECK(other_k.at("retrain")["status"] == "ran");
  CHECK(other_k.at("retrain")["metrics"]["train_loss"] != first.at("retrain")["metrics"]["train_loss"]);
  const Result late = run_whittle("run --threads 1 --cache " + (s.dir / "cache").string() + " " +
                                  s.write("r.recipe", rewind_recipe(2, 4)));
  CHECK(late.code != 0);
  // Caught by the checker, before anything runs.
  CHECK(
      late.out.find("error[E0304]: rewinding to epoch 4 and replaying 2 epochs runs past the train's last epoch (4)") !=
      std::string::npos);
  CHECK(late.out.find("r.recipe:5:") != std::string::npos);
}
