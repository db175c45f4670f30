// End to end with LibTorch on the synthetic data set: `whittle run` as a user runs it, interrupted,
// repeated and run twice at once. Threads are fixed so that results are bitwise comparable.
#include <catch2/catch.hpp>

#include "tests/cli/helpers.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
extern char** environ;

namespace {

const char* kRecipe =
    "recipe synth\n"
    "data synthetic size: 4096 validation: 10% augment: [crop(pad: 2), flip, cutout(size: 4), gridmask(d_min: 4, "
    "d_max: 6), mixup]\n"
    "model small_cnn width: 8\n"
    "train 12 epochs optimizer: sgd(lr: 0.05) schedule: cosine() batch: 64 eval_every: 4\n"
    "repeat 2 {\n"
    "  prune 50% global l1\n"
    "  retrain 1 epoch rewind: lr\n"
    "}\n"
    "evaluate\n";

struct Dir {
  fs::path path;
  Dir() {
    char tmpl[] = "/tmp/whittle-run-XXXXXX";
    path = ::mkdtemp(tmpl);
    std::ofstream(path / "synth.recipe") << kRecipe;
  }
  ~Dir() { fs::remove_all(path); }
  std::string recipe() const { return (path / "synth.recipe").string(); }
};

pid_t spawn_run(const Dir& d, const std::string& out_file) {
  const std::string cmd =
      "exec " + std::string(WHITTLE_BIN) + " run --threads 1 --format json " + d.recipe() + " > " + out_file + " 2>&1";
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid = 0;
  REQUIRE(::posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// Runs the recipe in `d` and kills it (SIGKILL) once the train has written an epoch checkpoint (at
/// least two epochs done).
void kill_after_two_epochs(const Dir& d) {
  const pid_t pid = spawn_run(d, (d.path / "killed.txt").string());
  bool checkpointed = false;
  for (int i = 0; i < 600 && !checkpointed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(d.path / ".whittle" / "partial", ec))
      checkpointed = checkpointed || fs::exists(e.path() / "state-2.json");
  }
  REQUIRE(checkpointed);
  ::kill(pid, SIGKILL);  // the shell exec'd whittle: this is the run itself
  wait_for(pid);
}

nlohmann::json run_json(const Dir& d) {
  const std::string out = (d.path / "out.json").string();
  const int rc = wait_for(spawn_run(d, out));
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  INFO(ss.str());
  REQUIRE(rc == 0);
  const std::string text = ss.str();
  return nlohmann::json::parse(text.substr(text.find('{')));
}

/// The evaluate stage's metrics and the checksum of every checkpoint, from a run record (the
/// logs are left out: they hold timings).
std::string fingerprint(const Dir& d, const nlohmann::json& j) {
  std::string out = j["stages"].back()["metrics"].dump();
  for (const auto& s : j["stages"]) {
    const std::string key = s["key"];
    std::ifstream in(d.path / ".whittle" / "objects" / key.substr(0, 2) / key / "manifest.yaml");
    std::string line;
    while (std::getline(in, line))
      if (line.find("name: model.safetensors") != std::string::npos) out += line + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("run trains, prunes with persistent masks, and reruns from the cache", "[run]") {
  Dir d;
  auto first = run_json(d);
  const auto& st = first["stages"];
  REQUIRE(st.size() == 8);
  for (const auto& s : st) CHECK(s["status"] == "ran");
  CHECK(st[7]["metrics"]["accuracy"].get<double>() > 0.9);
  // 50% of the remaining prunable weights twice: the retrain after each prune keeps the zeros.
  CHECK(st[3]["metrics"]["nonzero"] == st[4]["metrics"]["nonzero"]);
  CHECK(st[5]["metrics"]["nonzero"] == st[6]["metrics"]["nonzero"]);
  CHECK(st[6]["metrics"]["nonzero"].get<double>() < st[4]["metrics"]["nonzero"].get<double>());
  const std::string key = st[2]["key"];
  std::ifstream log(d.path / ".whittle" / "objects" / key.substr(0, 2) / key / "log.txt");
  std::stringstream lines;
  lines << log.rdbuf();
  CHECK(lines.str().find("epoch 12/12: loss") != std::string::npos);
  CHECK(lines.str().find("train_accuracy = ") != std::string::npos);
  // The device each stage ran on, and the run's: what ran this time (nothing, the second time).
  CHECK(first["device"] == "cpu");
  for (const auto& s : st) CHECK(s["device"] == "cpu");
  auto second = run_json(d);
  for (const auto& s : second["stages"]) CHECK(s["status"] == "cached");
  for (const auto& s : second["stages"]) CHECK(s["device"] == "cpu");  // from the entries' manifests
  CHECK(second["device"] == "none");
  CHECK(second["stages"][7]["metrics"] == st[7]["metrics"]);
  CHECK(fs::exists(d.path / ".whittle" / "runs" / "synth.yaml"));
}

TEST_CASE("commands that need no tensors never load LibTorch, a fully cached run included", "[run][cold]") {
  Dir d;
  REQUIRE(run_json(d)["stages"].size() == 8);
  // A module that cannot be loaded: whatever needs it fails, and nothing else notices.
  const std::string without = "WHITTLE_TORCH_MODULE=/nonexistent/libwhittle_torch.so " + std::string(WHITTLE_BIN) + " ";
  for (const char* cmd : {"lint", "check", "plan --no-preview", "run --threads 1", "graph"}) {
    const whittle::test::Result r = whittle::test::run_whittle_cmd(without + cmd + " " + d.recipe());
    INFO(cmd << ": " << r.out);
    CHECK(r.code == 0);
  }
  const whittle::test::Result cached =
      whittle::test::run_whittle_cmd(without + "run --threads 1 --format json " + d.recipe());
  for (const auto& s : nlohmann::json::parse(cached.out.substr(cached.out.find('{')))["stages"])
    CHECK(s["status"] == "cached");
  // The preview needs the module: the plan is shown without it, with a warning that says why.
  const whittle::test::Result plan = whittle::test::run_whittle_cmd(without + "plan " + d.recipe());
  CHECK(plan.code == 0);
  CHECK(plan.out.find("warning: no preview: cannot load whittle's LibTorch module /nonexistent/libwhittle_torch.so") !=
        std::string::npos);
  // A stage that must run says what is missing, at the stage's line.
  std::ofstream(d.path / "synth.recipe", std::ios::app) << "retrain 1 epoch\n";
  const whittle::test::Result run = whittle::test::run_whittle_cmd(without + "run --threads 1 " + d.recipe());
  INFO(run.out);
  CHECK(run.code == 1);
  CHECK(run.out.find("cannot load whittle's LibTorch module") != std::string::npos);
  CHECK(run.out.find("synth.recipe:") != std::string::npos);
}

TEST_CASE("the same recipe twice from an empty cache gives identical checkpoints and metrics", "[run]") {
  Dir a, b;
  CHECK(fingerprint(a, run_json(a)) == fingerprint(b, run_json(b)));
}

TEST_CASE("kill -9 during training, then rerun: it resumes and ends as an uninterrupted run", "[run]") {
  Dir clean, killed;
  const std::string expected = fingerprint(clean, run_json(clean));
  kill_after_two_epochs(killed);
  const std::string out = (killed.path / "resumed.txt").string();
  const int rc = wait_for(spawn_run(killed, out));
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  INFO(ss.str());
  REQUIRE(rc == 0);
  CHECK(ss.str().find("resuming #2 train after epoch") != std::string::npos);
  const std::string text = ss.str();
  CHECK(fingerprint(killed, nlohmann::json::parse(text.substr(text.find('{')))) == expected);
}

/// Runs `whittle ARGS` in the folder `d`, expecting `code`; returns what it printed.
std::string whittle_in(const Dir& d, const std::string& args, int code = 0) {
  const whittle::test::Result r =
      whittle::test::run_whittle_cmd("cd " + d.path.string() + " && " + WHITTLE_BIN + " " + args);
  INFO(args << ": " << r.out);
  CHECK(r.code == code);
  return r.out;
}

TEST_CASE("a run packed on one machine is all cached on another, and a damaged pack adds nothing damaged",
          "[run][pack]") {
  Dir a, b;
  const std::string expected = fingerprint(a, run_json(a));
  const std::string pack = (a.path / "synth.pack.tar.zst").string();
  CHECK(whittle_in(a, "cache pack synth.recipe").find("packed 8 entries") != std::string::npos);
  REQUIRE(fs::exists(pack));
  CHECK(whittle_in(b, "cache unpack " + pack).find("unpacked 8 entries of synth") != std::string::npos);
  auto there = run_json(b);
  for (const auto& s : there["stages"]) CHECK(s["status"] == "cached");
  CHECK(fingerprint(b, there) == expected);
  CHECK(whittle_in(b, "cache unpack --for synth.recipe " + pack).find("8 already there") != std::string::npos);
  // One stage and what it needs; a stage that is not there is named with the names there are.
  CHECK(whittle_in(a, "cache pack synth.recipe --stage '#2' -o two.tar.zst").find("packed 3 entries") !=
        std::string::npos);
  CHECK(whittle_in(a, "cache pack synth.recipe --stage teacher", 2).find("no stage `teacher`") != std::string::npos);
  // A byte changed in the compressed stream: refused, by name or as a whole; nothing damaged lands.
  Dir c;
  std::string bytes;
  {
    std::ifstream in(pack, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  bytes[bytes.size() * 2 / 3] ^= 0x5a;
  std::ofstream(c.path / "bad.tar.zst", std::ios::binary) << bytes;
  CHECK(whittle_in(c, "cache unpack bad.tar.zst", 1).find("error: ") != std::string::npos);
  CHECK(whittle_in(c, "cache verify --cache .whittle").find(", 0 corrupt") != std::string::npos);
}

TEST_CASE("killed on one machine, packed, unpacked on another: it resumes there and ends as an uninterrupted run",
          "[run][pack]") {
  Dir clean, killed, elsewhere;
  const std::string expected = fingerprint(clean, run_json(clean));
  kill_after_two_epochs(killed);
  CHECK(
      whittle_in(killed, "cache pack synth.recipe -o p.tar.zst").find("the epoch checkpoints of 1 unfinished stage") !=
      std::string::npos);
  CHECK(whittle_in(elsewhere, "cache unpack " + (killed.path / "p.tar.zst").string()).find("checkpoints #2 train") !=
        std::string::npos);
  const std::string out = (elsewhere.path / "resumed.txt").string();
  const int rc = wait_for(spawn_run(elsewhere, out));
  std::ifstream in(out);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  INFO(text);
  REQUIRE(rc == 0);
  CHECK(text.find("resuming #2 train after epoch") != std::string::npos);
  CHECK(fingerprint(elsewhere, nlohmann::json::parse(text.substr(text.find('{')))) == expected);
}

TEST_CASE("two runs on one cache at once: both finish and no entry is corrupt", "[run]") {
  Dir d;
  const pid_t p1 = spawn_run(d, (d.path / "one.txt").string());
  const pid_t p2 = spawn_run(d, (d.path / "two.txt").string());
  CHECK(wait_for(p1) == 0);
  CHECK(wait_for(p2) == 0);
  const std::string verify =
      std::string(WHITTLE_BIN) + " cache verify --cache " + (d.path / ".whittle").string() + " > /dev/null";
  CHECK(std::system(verify.c_str()) == 0);
  auto again = run_json(d);
  for (const auto& s : again["stages"]) CHECK(s["status"] == "cached");
}

TEST_CASE("what this machine or data set cannot do fails at the stage's line with what to do", "[run]") {
  whittle::test::Scratch t;
  auto run = [&](const std::string& body) {
    std::ofstream(t.dir / "e.recipe") << "data synthetic size: 256\nmodel small_cnn width: 4\n" << body;
    return whittle::test::run_whittle("run --threads 1 " + (t.dir / "e.recipe").string());
  };
  auto amp = run("train 1 epoch precision: amp device: cpu\n");
  INFO(amp.out);
  CHECK(amp.code == 1);
  CHECK(amp.out.find("`precision: amp` (mixed precision) needs a CUDA device") != std::string::npos);
  CHECK(amp.out.find("e.recipe:3:1") != std::string::npos);
  auto split = run("train 1 epoch\nevaluate split: validation\n");
  CHECK(split.code == 1);
  CHECK(split.out.find("there is no validation split") != std::string::npos);
  CHECK(split.out.find("validation: 10%") != std::string::npos);
  auto knob = run("model densenet width: 32\n");
  CHECK(knob.code == 1);
  CHECK(knob.out.find("`width` does not shape a `densenet`") != std::string::npos);
  auto groups = run("model resnet18 groups: 3\n");
  CHECK(groups.code == 1);
  CHECK(groups.out.find("`groups: 3` does not divide") != std::string::npos);
}
