// The Slurm executor against a real one-node Slurm cluster started on this machine
// (scripts/slurm_cluster.sh: munged, slurmctld and slurmd with 2 CPUs, state under a scratch folder;
// stopped at the end). Skipped, with the script's reason, where a cluster cannot be started (not
// root, slurm-wlm or munge missing).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <regex>

#include "tests/cli/helpers.h"

using namespace whittle::test;
namespace fs = std::filesystem;

namespace {

struct Cluster {
  Scratch s;
  std::string conf, why;
  Cluster() {
    const std::string script = (fs::path(WHITTLE_SOURCE_DIR) / "scripts" / "slurm_cluster.sh").string();
    const Result r = run_whittle_cmd(script + " start " + (s.dir / "slurm").string());
    if (r.code == 0)
      conf = (s.dir / "slurm" / "slurm.conf").string();
    else
      why = r.out;
  }
  ~Cluster() {
    if (!conf.empty())
      run_whittle_cmd((fs::path(WHITTLE_SOURCE_DIR) / "scripts" / "slurm_cluster.sh").string() + " stop " +
                      (s.dir / "slurm").string());
  }
  Result whittle(const std::string& args) const {
    return run_whittle_cmd("SLURM_CONF=" + conf + " " + WHITTLE_BIN + " " + args);
  }
};

nlohmann::json record(const Result& r) {
  INFO(r.out);
  REQUIRE(r.out.find("{\n") != std::string::npos);
  return nlohmann::json::parse(r.out.substr(r.out.find("{\n")));
}

int submitted(const std::string& out) {
  static const std::regex job(R"(: Slurm job \d+)");
  return static_cast<int>(std::distance(std::sregex_iterator(out.begin(), out.end(), job), std::sregex_iterator()));
}

}  // namespace

// One test case, one cluster: two clusters on one machine would share its ports.
TEST_CASE("the Slurm executor runs a sweep as jobs, ends as a local run does, and handles a failed job", "[slurm]") {
  Cluster c;
  if (c.conf.empty()) {
    WHITTLE_SKIP("Slurm tests: " << c.why);
  }
  const std::string recipe =
      "recipe sl\ndata synthetic size: 256\nmodel small_cnn\ntrain 2 epochs\nevaluate\n"
      "sweep amount in [30%, 60%] { prune $amount -> retrain 1 epoch -> evaluate }\n";
  const std::string file = c.s.write("r.recipe", recipe);
  const std::string slurm_cache = (c.s.dir / "shared-cache").string();
  const Result local =
      run_whittle("run --threads 1 --format json --cache " + (c.s.dir / "local").string() + " " + file);
  REQUIRE(local.code == 0);
  const Result first =
      c.whittle("run --executor slurm --threads 1 --poll 0.5 --format json --cache " + slurm_cache + " " + file);
  INFO(first.out);
  REQUIRE(first.code == 0);
  CHECK(submitted(first.out) == 10);  // every stage, each its own job
  // The branches depend on the train, not on each other: both prunes waited only for the train's job.
  CHECK(std::regex_search(first.out, std::regex(R"(#4 prune: Slurm job \d+ \(after job \d+\))")));
  const auto l = record(local), s = record(first);
  REQUIRE(l["stages"].size() == s["stages"].size());
  for (std::size_t i = 0; i < l["stages"].size(); ++i) {
    const auto& a = l["stages"][i];
    const auto& b = s["stages"][i];
    INFO("#" << a["id"] << " " << a["kind"]);
    CHECK(a["key"] == b["key"]);
    CHECK(b["status"] == "ran");
    CHECK(b["metrics"].contains("slurm_job"));
    for (const auto& [name, value] : a["metrics"].items())
      if (name != "seconds") CHECK(b["metrics"][name] == value);  // the same numbers, bitwise
  }
  // Entries are readable by the group that shares the cache.
  for (const auto& e : fs::recursive_directory_iterator(fs::path(slurm_cache) / "objects"))
    CHECK((fs::status(e.path()).permissions() & fs::perms::group_read) != fs::perms::none);
  // A second run submits nothing: every stage is cached.
  const Result again = c.whittle("run --executor slurm --poll 0.5 --cache " + slurm_cache + " " + file);
  CHECK(again.code == 0);
  CHECK(submitted(again.out) == 0);
  CHECK(again.out.find("cached") != std::string::npos);

  // A failed job stops its dependants, is named with its job id and recipe line, and a rerun
  // submits only what is missing. Line 8 fails at run time (a grouped conv cannot be slimmed); the first chain is
  // independent of it.
  const std::string bad =
      "recipe fl\ndata synthetic size: 256\nmodel small_cnn\ntrain 1 epoch\nevaluate\n"
      "model small_cnn groups: 2\ntrain 1 epoch\nprune 50% structured physical: true\nretrain 1 epoch\nevaluate\n";
  const std::string cache = " --cache " + (c.s.dir / "cache2").string() + " ";
  const Result failed =
      c.whittle("run --executor slurm --threads 1 --poll 0.5 --format json" + cache + c.s.write("f.recipe", bad));
  INFO(failed.out);
  CHECK(failed.code == 1);
  CHECK(std::regex_search(
      failed.out, std::regex(R"(error\[R0005\]: stage #6 prune at .*f\.recipe:8 failed in Slurm job \d+ \(FAILED)")));
  CHECK(failed.out.find("grouped convolution") != std::string::npos);  // the job's own output, quoted
  const auto rec = record(failed);
  std::map<int, std::string> status;
  for (const auto& st : rec["stages"]) status[st["id"]] = st["status"];
  CHECK(status[3] == "ran");  // the independent chain finished
  CHECK(status[6] == "failed");
  CHECK(status[7] == "cancelled");  // Slurm cancelled the dependants
  CHECK(status[8] == "cancelled");
  // Mended, the rerun submits the prune and what follows it, nothing before.
  const std::string good = std::regex_replace(bad, std::regex(" physical: true"), "");
  const Result mended = c.whittle("run --executor slurm --threads 1 --poll 0.5" + cache + c.s.write("f.recipe", good));
  INFO(mended.out);
  CHECK(mended.code == 0);
  CHECK(submitted(mended.out) == 3);

  // A search: once the train's job is done, the candidates its strategy needs are jobs of their own
  // (with a bar every candidate meets, the cheapest, the larger prune, and only it); then the search's
  // job, which finds it cached and writes the decision.
  const std::string search =
      "recipe se\ndata synthetic size: 256 validation: 25%\nmodel small_cnn\ntrain 1 epoch\n"
      "search lowest params where accuracy >= 0% {\n  choose amount in [30%, 60%] monotone\n  prune $amount\n"
      "  retrain 1 epoch\n  evaluate split: validation\n}\nevaluate\n";
  const std::string sfile = c.s.write("s.recipe", search);
  const Result searched = c.whittle("run --executor slurm --threads 1 --poll 0.5 --format json --cache " +
                                    (c.s.dir / "cache3").string() + " " + sfile);
  INFO(searched.out);
  CHECK(searched.code == 0);
  CHECK(submitted(searched.out) == 6);  // data, model, train, the candidate, the search, the evaluate after it
  CHECK(std::regex_search(searched.out, std::regex(R"(#\d+ search candidate 1 \(amount=60%\): Slurm job \d+\n)")));
  CHECK(std::regex_search(searched.out, std::regex(R"(#\d+ search: Slurm job \d+\n)")));  // after nothing: all done
  const auto sr = record(searched);
  REQUIRE(sr["searches"].size() == 1);
  CHECK(sr["searches"][0]["chosen_label"] == "amount=60%");
  CHECK(sr["searches"][0]["trainings"] == 1);
  std::map<std::string, int> statuses;
  for (const auto& st : sr["stages"]) ++statuses[st["status"].get<std::string>()];
  CHECK(statuses["skipped"] == 3);  // the other candidate's prune, retrain and evaluate

  // --jobs 2: the candidates of a round are submitted together; the same choice.
  const Result two = c.whittle("run --executor slurm --jobs 2 --threads 1 --poll 0.5 --format json --cache " +
                               (c.s.dir / "cache4").string() + " " + sfile);
  INFO(two.out);
  CHECK(two.code == 0);
  const auto tr = record(two);
  REQUIRE(tr["searches"].size() == 1);
  CHECK(tr["searches"][0]["chosen_label"] == "amount=60%");
  static const std::regex candidate_job(R"(search candidate \d+ \(amount=\d+%\): Slurm job \d+)");
  const auto candidate_jobs =
      std::distance(std::sregex_iterator(two.out.begin(), two.out.end(), candidate_job), std::sregex_iterator());
  CHECK(candidate_jobs == tr["searches"][0]["trainings"].get<int>());
  CHECK(candidate_jobs == 2);  // a round of two: both at once
}
