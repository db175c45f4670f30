// End to end: `search` on slices of Fashion-MNIST. The same body as a `sweep` trains every candidate;
// the search must choose what that exhaustive sweep chooses, training fewer; a search killed mid-way
// resumes and chooses the same; the plan lists its candidates.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <regex>

#include "tests/cli/faults.h"
#include "tests/cli/helpers.h"

using namespace whittle::test;

namespace {

// Layer-wise pruning and uniform quantization: the previews of the score are exact, so the search's
// order is the measured one, and its answer must be the sweep's.
const char* kHead =
    "data fashion_mnist subset: 1200 validation: 25% test_subset: 300\n"
    "model small_cnn width: 8\n"
    "train 2 epochs optimizer: sgd(lr: 0.05, momentum: 0.9) batch: 64\n";
const char* kBody =
    "prune $amount\n"
    "quantize $bits activations: 8 bits\n"
    "retrain 1 epoch\n"
    "evaluate split: validation\n";
const std::vector<std::string> kAmounts = {"20%", "60%", "90%", "97%"};
const std::vector<std::string> kBits = {"8 bits", "4 bits", "2 bits"};

std::string list(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
  return "[" + out + "]";
}

std::string sweep_recipe() {
  return std::string(kHead) + "sweep amount in " + list(kAmounts) + " {\n sweep bits in " + list(kBits) + " {\n" +
         kBody + " }\n}\n";
}

std::string search_recipe(const std::string& bar) {
  return std::string(kHead) + "let bar = " + bar + "\nsearch lowest course2025 where accuracy >= $bar as best {\n" +
         "  choose amount in " + list(kAmounts) + " monotone\n  choose bits in " + list(kBits) + " monotone\n" + kBody +
         "}\nevaluate\n";
}

struct Measured {
  double accuracy = 0, score = 0;
};

/// Every candidate's validation accuracy and score, by "amount=.. bits=..", from the sweep's record.
std::map<std::string, Measured> sweep_results(const nlohmann::json& record) {
  std::map<std::string, Measured> out;
  const std::regex where("sweep amount=([^,]+), sweep bits=(.+)");
  for (const auto& st : record.at("stages")) {
    std::smatch m;
    const std::string w = st.at("where").get<std::string>();
    if (st.at("kind") != "evaluate" || !std::regex_match(w, m, where)) continue;
    out["amount=" + m[1].str() + " bits=" + m[2].str()] = {st.at("metrics").at("accuracy").get<double>(),
                                                           st.at("metrics").at("score").get<double>()};
  }
  return out;
}

std::string fmt_search_plot(int id) { return "search_" + std::to_string(id); }

int ran(const nlohmann::json& record, const std::string& kind) {
  int n = 0;
  for (const auto& st : record.at("stages")) n += st.at("kind") == kind && st.at("status") == "ran";
  return n;
}

}  // namespace

TEST_CASE("a search chooses what the exhaustive sweep of its body chooses, training fewer candidates",
          "[run][search]") {
  REQUIRE(fashion_mnist_installed());
  Scratch s;
  const auto sweep = run_json(s, sweep_recipe(), "", "sweep.recipe");
  const auto results = sweep_results(sweep);
  REQUIRE(results.size() == kAmounts.size() * kBits.size());

  // A bar between two measured accuracies at which the `monotone` promises hold in these results
  // (more pruning or fewer bits never passes where less fails), with some passing and some failing.
  std::vector<double> accs;
  for (const auto& [label, m] : results) accs.push_back(m.accuracy);
  std::sort(accs.begin(), accs.end());
  accs.erase(std::unique(accs.begin(), accs.end()), accs.end());
  auto idx = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) - v.begin();
  };
  std::optional<double> bar;
  std::string expected;
  for (std::size_t i = accs.size() - 1; i-- > 0 && !bar;) {
    const double b = (accs[i] + accs[i + 1]) / 2;
    bool holds = true;
    for (const auto& a : kAmounts)
      for (const auto& bt : kBits)
        for (const auto& a2 : kAmounts)
          for (const auto& bt2 : kBits) {
            const bool further = idx(kAmounts, a2) >= idx(kAmounts, a) && idx(kBits, bt2) >= idx(kBits, bt);
            if (further && results.at("amount=" + a + " bits=" + bt).accuracy < b &&
                results.at("amount=" + a2 + " bits=" + bt2).accuracy >= b)
              holds = false;
          }
    if (!holds) continue;
    // The exhaustive choice: the passing candidate of least score (ties to the first in sweep order).
    std::optional<std::pair<double, std::string>> best;
    for (const auto& a : kAmounts)
      for (const auto& bt : kBits) {
        const std::string label = "amount=" + a + " bits=" + bt;
        const Measured& m = results.at(label);
        if (m.accuracy >= b && (!best || m.score < best->first)) best = {m.score, label};
      }
    if (best && best->second != "amount=20% bits=8 bits") {
      bar = b;
      expected = best->second;
    }
  }
  INFO(sweep.dump(1));
  REQUIRE(bar);

  Scratch t;  // a cache of its own: every training the search needs is counted
  char pct[32];
  std::snprintf(pct, sizeof pct, "%.6f%%", 100 * *bar);
  const auto found = run_json(t, search_recipe(pct));
  REQUIRE(found.at("searches").size() == 1);
  const auto& d = found.at("searches").at(0);
  INFO(d.dump(1));
  CHECK(d.at("chosen_label").get<std::string>() == expected);
  CHECK(d.at("trainings").get<int>() < static_cast<int>(results.size()));
  CHECK(ran(found, "retrain") == d.at("trainings").get<int>());
  CHECK(ran(sweep, "retrain") == static_cast<int>(results.size()));
  // Every candidate has a status; the chosen one and those it made unneeded are said so.
  int chosen = 0, trained = 0;
  for (const auto& r : d.at("rows")) {
    chosen += r.at("status") == "chosen";
    trained += !r.at("metric").is_null();
    if (r.at("status") == "not needed")
      CHECK(r.at("objective").get<double>() >=
            d.at("rows").at(d.at("chosen").get<int>()).at("objective").get<double>());
  }
  CHECK(chosen == 1);
  CHECK(trained == d.at("trainings").get<int>());
  // The chain goes on from the chosen model: the final evaluate reads the search, on the test split.
  bool final_eval = false;
  for (const auto& st : found.at("stages"))
    if (st.at("kind") == "evaluate" && st.at("where") == "")
      final_eval = st.at("status") == "ran" && st.at("metrics").count("accuracy");
  CHECK(final_eval);

  // Two candidates at a time, each in its own process: the same answer (rounds of two may train more).
  Scratch u;
  const auto par = run_json(u, search_recipe(pct), "--jobs 2");
  REQUIRE(par.at("searches").size() == 1);
  CHECK(par.at("searches").at(0).at("chosen_label").get<std::string>() == expected);
  CHECK(par.at("searches").at(0).at("trainings").get<int>() < static_cast<int>(results.size()));

  // Run again: nothing trains, the same choice, the table in the text output.
  const Result again =
      run_whittle("run --threads 1 --cache " + (t.dir / "cache").string() + " " + (t.dir / "r.recipe").string());
  CHECK(again.code == 0);
  CHECK(again.out.find("chose " + expected) != std::string::npos);
  CHECK(again.out.find(" ran ") == std::string::npos);

  // The report draws the trained candidates: the constraint's line, the frontier, the chosen one.
  const Result rep = run_whittle("report --cache " + (t.dir / "cache").string() + " -o " + (t.dir / "report").string() +
                                 " " + (t.dir / "r.recipe").string());
  INFO(rep.out);
  CHECK(rep.code == 0);
  if (run_whittle_cmd("gnuplot --version").code == 0) {
    const std::string name = fmt_search_plot(d.at("search").get<int>());
    CHECK(std::filesystem::exists(t.dir / "report" / (name + ".svg")));
    std::ifstream gp(t.dir / "report" / (name + ".gp"));
    const std::string script((std::istreambuf_iterator<char>(gp)), std::istreambuf_iterator<char>());
    CHECK(script.find("chose " + expected) != std::string::npos);
    CHECK(script.find("frontier of the trained") != std::string::npos);
  }

  // `whittle plan` lists the candidates by their previewed objective, and the most trainings.
  const Result plan = run_whittle("plan --cache " + (t.dir / "cache").string() + " " + (t.dir / "r.recipe").string());
  CHECK(plan.code == 0);
  CHECK(std::regex_search(plan.out,
                          std::regex("12 candidates, [0-9]+ ruled out before training, at most [0-9]+ trainings")));
}

TEST_CASE("a search killed mid-way resumes and chooses the same candidate", "[run][search][faults]") {
  REQUIRE(fashion_mnist_installed());
  if (!faults::have_strace()) {
    WHITTLE_SKIP("no strace");
  }
  Scratch whole, killed;
  const std::string recipe = search_recipe("50%");
  whole.write("r.recipe", recipe);
  killed.write("r.recipe", recipe);
  const auto full = faults::json_of(faults::run_in(whole));
  REQUIRE(full.at("searches").size() == 1);
  // Killed at the 12th entry it commits: after the train and a few of the candidates' stages.
  const Result k = faults::run_in(killed, faults::kill_at_rename(12));
  CHECK(k.code != 0);
  const auto resumed = faults::json_of(faults::run_in(killed));
  REQUIRE(resumed.at("searches").size() == 1);
  CHECK(resumed.at("searches").at(0).at("chosen_label") == full.at("searches").at(0).at("chosen_label"));
  CHECK(resumed.at("searches").at(0).at("trainings") == full.at("searches").at(0).at("trainings"));
  // What the killed run finished was kept: the resumed run found it cached.
  int cached = 0;
  for (const auto& st : resumed.at("stages")) cached += st.at("status") == "cached";
  CHECK(cached >= 3);
}

TEST_CASE("a search's seeds and budget: every seed trained, costlier candidates not needed, a spent budget said",
          "[run][search]") {
  Scratch s;
  auto recipe = [](const std::string& bar, int budget) {
    return "data synthetic size: 128 validation: 25%\nmodel small_cnn width: 4\ntrain 1 epoch batch: 32\n"
           "search lowest params where accuracy >= " +
           bar + " budget: " + std::to_string(budget) +
           " seeds: 2 as best {\n"
           "  choose amount in [20%, 50%, 80%]\n  prune $amount\n  retrain 1 epoch batch: 32\n  evaluate split: "
           "validation\n}\nevaluate\n";
  };
  // A bar every candidate meets: the cheapest (with no monotone dimension, the previews' order: the
  // 80% prune) passes, and the costlier ones are not needed.
  const auto j = run_json(s, recipe("0%", 3));
  REQUIRE(j.at("searches").size() == 1);
  const auto& d = j.at("searches").at(0);
  INFO(d.dump(1));
  CHECK(d.at("trainings") == 1);
  CHECK(d.at("chosen_label") == "amount=80%");
  CHECK(d.at("rows").at(0).at("status") == "not needed");
  CHECK(d.at("rows").at(0).at("by") == 2);
  // Both seeds of the chosen candidate were trained and evaluated; no other candidate's stage.
  int evaluated = 0, skipped = 0;
  for (const auto& st : j.at("stages")) {
    const std::string where = st.at("where");
    if (st.at("kind") == "evaluate" && where.rfind("search amount=80%", 0) == 0) evaluated += st.at("status") == "ran";
    skipped += st.at("status") == "skipped";
  }
  CHECK(evaluated == 2);
  CHECK(skipped == 2 * 2 * 3);  // two candidates, two seeds, three stages each
  // A bar no candidate meets and a budget of 2: two trained, the third left untried, and the error
  // at the search's line says so (nothing passed, so nothing can be chosen).
  const Result none = run_whittle("run --threads 1 --cache " + (s.dir / "cache").string() + " " +
                                  s.write("r.recipe", recipe("100%", 2)));
  INFO(none.out);
  CHECK(none.code == 1);
  CHECK(none.out.find("error[R0003]: stage #") != std::string::npos);
  CHECK(none.out.find(
            "no candidate of the search reached accuracy >= 100.00% (2 trained, 1 left untried by the budget") !=
        std::string::npos);
}

TEST_CASE("a search whose body starts with `model`: the chain after it builds the chosen candidate's network",
          "[run][search]") {
  Scratch s;
  const auto j = run_json(s,
                          "data synthetic size: 128 validation: 25%\n"
                          "search lowest params where accuracy >= 0% as best {\n  choose w in [8, 4] monotone\n  model "
                          "small_cnn width: $w\n"
                          "  train 1 epoch batch: 32\n  evaluate split: validation\n}\n"
                          "prune 30%\nretrain 1 epoch batch: 32\nevaluate\n");
  REQUIRE(j.at("searches").size() == 1);
  CHECK(j.at("searches").at(0).at("chosen_label") == "w=4");  // the narrower network has fewer parameters, and passes
  double chosen_params = 0;
  for (const auto& st : j.at("stages"))
    if (st.at("where") == "search w=4" && st.at("kind") == "model")
      chosen_params = st.at("metrics").at("params").get<double>();
  REQUIRE(chosen_params > 0);
  const auto& last = j.at("stages").back();
  CHECK(last.at("kind") == "evaluate");
  CHECK(last.at("status") == "ran");
  CHECK(last.at("metrics").at("params").get<double>() == chosen_params);  // w=4's network, pruned and retrained
}
