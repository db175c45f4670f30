// Faults and hostile input, as an adversarial user would bring them: kills at every rename of a run,
// damaged checkpoints and caches, a full and a read-only disk, unreadable data, special files,
// absurd options. Each case here reproduced a defect before it was fixed (issue 14); kills at a
// chosen rename and unreadable files are made deterministic with strace's fault injection.
#include <catch2/catch.hpp>

#include "tests/cli/helpers.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace fs = std::filesystem;
using namespace whittle::test;

namespace {

const char* kTrain =
    "recipe faults\n"
    "data synthetic size: 256 validation: 10%\n"
    "model small_cnn width: 4\n"
    "train 2 epochs optimizer: sgd(lr: 0.05, momentum: 0.9) batch: 64 eval_every: 1 snapshot_every: 1\n"
    "evaluate\n";

std::string bin() { return WHITTLE_BIN; }

bool have_strace() { return run_whittle_cmd("command -v strace").code == 0; }

/// strace, and LeakSanitizer off under it (in the sanitizer build): it cannot run under ptrace.
const char* kStrace = "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq ";

/// strace options that kill the traced run at its n-th rename.
std::string kill_at_rename(std::size_t n) {
  return "-e trace=rename,renameat,renameat2 -e inject=rename,renameat,renameat2:signal=KILL:when=" + std::to_string(n);
}

/// `whittle run` of DIR/r.recipe with its cache in DIR/cache, under strace when `strace` is given.
Result run_in(const Scratch& s, const std::string& strace = "", const std::string& extra = "") {
  const std::string cmd = bin() + " run --threads 1 --format json --cache " + (s.dir / "cache").string() + " " + extra + " " +
                          (s.dir / "r.recipe").string();
  return run_whittle_cmd(strace.empty() ? cmd : kStrace + std::string("-o /dev/null ") + strace + " " + cmd);
}

nlohmann::json json_of(const Result& r) {
  INFO(r.out);
  REQUIRE(r.code == 0);
  return nlohmann::json::parse(r.out.substr(r.out.find("{\n")));
}

/// The renames a whole run makes, in order (the paths renamed to), from strace.
std::vector<std::string> renames_of_run(const Scratch& s) {
  const std::string log = (s.dir / "renames.txt").string();
  const Result r = run_whittle_cmd(kStrace + std::string("-o ") + log + " -e trace=rename,renameat,renameat2 " + bin() +
                                   " run --threads 1 --format json --cache " + (s.dir / "cache").string() + " " + (s.dir / "r.recipe").string());
  REQUIRE(r.code == 0);
  std::vector<std::string> out;
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.find("rename") != std::string::npos && line.find("= 0") != std::string::npos) out.push_back(line);
  return out;
}

/// A small tmpfs at DIR/NAME (root can mount one here); false where mounting is not allowed.
bool mount_tmpfs(const fs::path& at, const std::string& size) {
  fs::create_directories(at);
  return ::mount("tmpfs", at.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
}

struct Unmount {
  fs::path at;
  ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
};

}  // namespace

TEST_CASE("a kill at any rename of a run leaves the cache correct: the rerun ends as an uninterrupted run", "[faults]") {
  if (!have_strace()) {
    WARN("strace is not installed (scripts/setup.sh test installs it): skipped");
    return;
  }
  Scratch clean;
  clean.write("r.recipe", kTrain);
  const std::string expected = entries_fingerprint(clean.dir / "cache", json_of(run_in(clean)));
  Scratch counting;
  counting.write("r.recipe", kTrain);
  const std::size_t renames = renames_of_run(counting).size();
  REQUIRE(renames > 12);
  for (std::size_t n = 1; n <= renames; ++n) {
    Scratch s;
    s.write("r.recipe", kTrain);
    const Result killed = run_in(s, kill_at_rename(n));
    INFO("killed at rename " << n << " of " << renames << "\n" << killed.out);
    REQUIRE(killed.code != 0);
    const Result again = run_in(s);
    INFO(again.out);
    CHECK(entries_fingerprint(s.dir / "cache", json_of(again)) == expected);
    if (n % 5 != 0 && n != renames) continue;  // the checks below cost two more processes: every fifth kill
    const Result verify = run_whittle("cache verify --cache " + (s.dir / "cache").string());
    INFO(verify.out);
    CHECK(verify.code == 0);
    // What the kill left (a temporary folder, epoch checkpoints) gc removes; the entries stay.
    REQUIRE(run_whittle("cache gc --cache " + (s.dir / "cache").string() + " " + (s.dir / "r.recipe").string()).code == 0);
    CHECK(fs::is_empty(s.dir / "cache" / "tmp"));
    CHECK(fs::is_empty(s.dir / "cache" / "partial"));
  }
}

namespace {

/// Kills a run of `s` at the rename that puts `target` (a file name) in place; false if none does.
bool kill_before(const Scratch& s, const std::string& target) {
  Scratch counting;
  counting.write("r.recipe", s.read("r.recipe"));
  const auto renames = renames_of_run(counting);
  for (std::size_t i = 0; i < renames.size(); ++i)
    if (renames[i].find("/" + target + "\"") != std::string::npos) {
      REQUIRE(run_in(s, kill_at_rename(i + 1)).code != 0);
      return true;
    }
  return false;
}

fs::path partial_of(const Scratch& s) {
  for (const auto& e : fs::directory_iterator(s.dir / "cache" / "partial")) return e.path();
  return {};
}

}  // namespace

TEST_CASE("a damaged epoch checkpoint is reported and the stage goes on from its last good state", "[faults]") {
  if (!have_strace()) return;
  Scratch clean;
  clean.write("r.recipe", kTrain);
  const std::string expected = entries_fingerprint(clean.dir / "cache", json_of(run_in(clean)));
  // Killed just before epoch 2's state: epoch 1's state is the checkpoint to resume from.
  auto damaged = [&](const std::string& what, const std::function<void(const fs::path&)>& damage, const std::string& says) {
    Scratch s;
    s.write("r.recipe", kTrain);
    REQUIRE(kill_before(s, "state-2.json"));
    const fs::path partial = partial_of(s);
    REQUIRE(fs::exists(partial / "state-1.json"));
    damage(partial);
    const Result r = run_in(s);
    INFO(what << "\n" << r.out);
    CHECK(r.out.find(says) != std::string::npos);
    CHECK(entries_fingerprint(s.dir / "cache", json_of(r)) == expected);
  };
  damaged("an empty state (a full disk)", [](const fs::path& p) { std::ofstream(p / "state-1.json", std::ios::trunc); },
          "is damaged: it is malformed");
  for (const char* epoch : {"99", "-5", "0"})
    damaged(std::string("epoch ") + epoch, [&](const fs::path& p) {
      std::ifstream in(p / "state-1.json");
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      text = std::regex_replace(text, std::regex("\"epoch\": 1,"), std::string("\"epoch\": ") + epoch + ",");
      std::ofstream(p / "state-1.json", std::ios::trunc) << text;
    }, "is damaged: it says epoch");
  damaged("a truncated model", [](const fs::path& p) { fs::resize_file(p / "epoch-1.pt", 100); }, "`epoch-1.pt` does not match its checksum");
  damaged("no optimizer", [](const fs::path& p) { fs::remove(p / "epoch-1.optim.pt"); }, "`epoch-1.optim.pt` is missing");
  damaged("the stage's folder is a file", [](const fs::path& p) {
    fs::remove_all(p);
    std::ofstream(p) << "x";
  }, "\"status\": \"ran\"");
}

TEST_CASE("killed after its last epoch, a stage's entry is whole: losses, snapshots, one row per evaluation", "[faults]") {
  if (!have_strace()) return;
  Scratch clean, s;
  clean.write("r.recipe", kTrain);
  const auto expected = json_of(run_in(clean));
  s.write("r.recipe", kTrain);
  REQUIRE(kill_before(s, "evaluations.csv"));  // every epoch done, the entry not yet written
  const auto j = json_of(run_in(s));
  CHECK(entries_fingerprint(s.dir / "cache", j) == entries_fingerprint(clean.dir / "cache", expected));
  const std::string key = j["stages"][2]["key"];
  CHECK(j["stages"][2]["metrics"].contains("train_loss"));
  const fs::path entry = s.dir / "cache" / "objects" / key.substr(0, 2) / key;
  CHECK(fs::exists(entry / "snapshot-1.pt"));
  CHECK(fs::exists(entry / "snapshot-1.optim.pt"));
  std::ifstream in(entry / "evaluations.csv");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text.rfind("epoch,split,loss,accuracy\n1,validation,", 0) == 0);
  CHECK(std::count(text.begin(), text.end(), '\n') == 3);  // the header and epochs 1 and 2, once each
}

TEST_CASE("two identical runs write identical optimizer snapshots", "[faults]") {
  Scratch a, b;
  a.write("r.recipe", kTrain);
  b.write("r.recipe", kTrain);
  const auto ja = json_of(run_in(a)), jb = json_of(run_in(b));
  const std::string key = ja["stages"][2]["key"];
  REQUIRE(key == jb["stages"][2]["key"]);
  const fs::path rel = fs::path("cache") / "objects" / key.substr(0, 2) / key / "snapshot-1.optim.pt";
  REQUIRE(fs::exists(a.dir / rel));
  CHECK(a.read(rel.string()) == b.read(rel.string()));
}

TEST_CASE("a full disk is an error at the stage's line; the cache stays intact and the next run is correct", "[faults]") {
  Scratch clean, s;
  const std::string recipe = "recipe disk\ndata synthetic size: 256\nmodel small_cnn width: 48\ntrain 2 epochs batch: 64\nevaluate\n";
  clean.write("r.recipe", recipe);
  const std::string expected = entries_fingerprint(clean.dir / "cache", json_of(run_in(clean)));
  s.write("r.recipe", recipe);
  if (!mount_tmpfs(s.dir / "cache", "600k")) {
    WARN("cannot mount a tmpfs here (not root?): skipped");
    return;
  }
  Unmount unmount{s.dir / "cache"};
  const Result full = run_in(s);
  INFO(full.out);
  CHECK(full.code == 1);
  CHECK(full.out.find("no space left on the file system of") != std::string::npos);
  CHECK(full.out.find("error[R0003]") != std::string::npos);
  CHECK(full.out.find("terminate called") == std::string::npos);
  CHECK(fs::is_empty(s.dir / "cache" / "tmp"));
  REQUIRE(::mount("tmpfs", (s.dir / "cache").c_str(), "tmpfs", MS_REMOUNT, "size=64m") == 0);
  CHECK(entries_fingerprint(s.dir / "cache", json_of(run_in(s))) == expected);
  CHECK(run_whittle("cache verify --cache " + (s.dir / "cache").string()).code == 0);
}

TEST_CASE("a cache that cannot be written is an error at the stage that needs it", "[faults]") {
  Scratch s;
  s.write("r.recipe", kTrain);
  if (!mount_tmpfs(s.dir / "cache", "64m")) return;
  Unmount unmount{s.dir / "cache"};
  json_of(run_in(s));  // fills the cache
  s.write("r.recipe", std::string(kTrain) + "evaluate metrics: [f1]\n");   // one stage more to compute
  REQUIRE(::mount("tmpfs", (s.dir / "cache").c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, "") == 0);
  const Result r = run_in(s);
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.out.find("error[R0003]") != std::string::npos);
  CHECK(r.out.find("must be writable") != std::string::npos);
  CHECK(r.out.find("terminate called") == std::string::npos);
}

TEST_CASE("cache commands on a damaged or foreign cache say what is wrong and exit 1", "[faults]") {
  Scratch s;
  s.write("r.recipe", kTrain);
  json_of(run_in(s));
  const std::string cache = (s.dir / "cache").string();
  for (const char* cmd : {"ls", "verify"}) CHECK(run_whittle(std::string("cache ") + cmd + " --cache " + cache).code == 0);
  // VERSION missing alone: still a cache (its entries are listed and checked).
  fs::rename(s.dir / "cache" / "VERSION", s.dir / "VERSION.bak");
  const Result noversion = run_whittle("cache verify --cache " + cache);
  CHECK(noversion.code == 0);
  CHECK(noversion.out.find("4 entries, 0 corrupt") != std::string::npos);
  s.write("cache/VERSION", "whittle-cache 1\n");
  for (const char* cmd : {"ls", "verify", "gc"}) {
    const Result r = run_whittle(std::string("cache ") + cmd + " --cache " + cache + (std::string(cmd) == "gc" ? " " + (s.dir / "r.recipe").string() : ""));
    INFO(r.out);
    CHECK(r.code == 1);
    CHECK(r.out.find("another version") != std::string::npos);
    CHECK(r.out.find("terminate") == std::string::npos);
  }
  const Result run = run_in(s);
  CHECK(run.code == 1);
  CHECK(run.out.find("another version") != std::string::npos);
  fs::rename(s.dir / "VERSION.bak", s.dir / "cache" / "VERSION");
  for (const char* sub : {"objects", "locks", "tmp"}) {
    const fs::path p = s.dir / "cache" / sub, moved = s.dir / (std::string(sub) + ".bak");
    fs::rename(p, moved);
    std::ofstream(p) << "x";
    for (const char* cmd : {"ls", "verify"}) {
      const Result r = run_whittle(std::string("cache ") + cmd + " --cache " + cache);
      INFO(sub << " " << cmd << "\n" << r.out);
      CHECK(r.code == 1);
      CHECK(r.out.find("is a file, where whittle keeps a folder") != std::string::npos);
    }
    fs::remove(p);
    fs::rename(moved, p);
  }
}

TEST_CASE("cache verify reports every entry folder that does not verify, manifests included", "[faults]") {
  Scratch s;
  s.write("r.recipe", kTrain);
  const auto j = json_of(run_in(s));
  const fs::path objects = s.dir / "cache" / "objects";
  auto entry = [&](int i) {
    const std::string key = j["stages"][i]["key"];
    return objects / key.substr(0, 2) / key;
  };
  std::ofstream(entry(0) / "manifest.yaml", std::ios::trunc);                      // empty
  std::ofstream(entry(1) / "manifest.yaml", std::ios::trunc) << "\x01garbage: [";  // garbage
  fs::copy_file(entry(1) / "log.txt", entry(1) / "extra");                         // (a file no manifest names is harmless)
  {
    std::ifstream in(entry(3) / "manifest.yaml");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(entry(3) / "manifest.yaml", std::ios::trunc) << std::regex_replace(text, std::regex("accuracy: [0-9.e-]+"), "accuracy: 0.9999");
  }
  fs::copy_file(entry(2) / "manifest.yaml", entry(2) / "m", fs::copy_options::overwrite_existing);
  fs::create_directories(objects / "ab" / "ab12");  // a folder with no manifest
  const Result r = run_whittle("cache verify --cache " + (s.dir / "cache").string());
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.out.find("5 entries, 4 corrupt") != std::string::npos);
  CHECK(r.out.find("does not match its checksum: it was edited or damaged") != std::string::npos);
  CHECK(r.out.find("it has no manifest") != std::string::npos);
  // The run does not show the edited figure: the entry is recomputed.
  const Result again = run_in(s);
  INFO(again.out);
  CHECK(again.out.find("0.9999") == std::string::npos);
  CHECK(again.out.find("R0004") != std::string::npos);
}

TEST_CASE("gc keeps the entries of the recipe's runs with --set, and leaves a cache a run is using alone", "[faults]") {
  Scratch s;
  s.write("r.recipe", "recipe g\nlet epochs = 2 epochs\ndata synthetic size: 256\nmodel small_cnn width: 4\ntrain $epochs batch: 64\nevaluate\n");
  json_of(run_in(s));
  json_of(run_in(s, "", "--set \"epochs=1 epochs\""));
  const std::string cache = (s.dir / "cache").string();
  const Result gc = run_whittle("cache gc --cache " + cache + " " + (s.dir / "r.recipe").string());
  INFO(gc.out);
  CHECK(gc.out.find("removed 0 entries") != std::string::npos);
  const auto again = json_of(run_in(s, "", "--set \"epochs=1 epochs\""));
  for (const auto& st : again["stages"]) CHECK(st["status"] == "cached");
  // Another recipe's gc while this one runs: refused, nothing removed.
  s.write("other.recipe", "recipe o\ndata synthetic size: 64\nmodel small_cnn width: 4\nevaluate\n");
  s.write("r.recipe", "recipe g\ndata synthetic size: 4096\nmodel small_cnn width: 8\ntrain 30 epochs batch: 64\nevaluate\n");
  const Result both = run_whittle_cmd("(" + bin() + " run --threads 1 --cache " + cache + " " + (s.dir / "r.recipe").string() +
                                      " > /dev/null 2>&1 & pid=$!; for i in $(seq 300); do ls " + cache +
                                      "/partial/*/state-1.json >/dev/null 2>&1 && break; sleep 0.2; done; " + bin() + " cache gc --cache " + cache + " " +
                                      (s.dir / "other.recipe").string() + "; echo gc=$?; kill $pid; wait $pid)");
  INFO(both.out);
  CHECK(both.out.find("a whittle run is using the cache") != std::string::npos);
  CHECK(both.out.find("gc=1") != std::string::npos);
}

namespace {

/// A verified submission of a small recipe that prunes 50%, in `s` (sub.tar.gz), and its cache.
std::string make_submission(const Scratch& s) {
  s.write("r.recipe", "recipe sub\ndata synthetic size: 256\nmodel small_cnn width: 4\ntrain 2 epochs batch: 64\nprune 50%\n"
                      "retrain 1 epoch\nevaluate\n");
  json_of(run_in(s));
  const std::string archive = (s.dir / "sub.tar.gz").string();
  const Result r = run_whittle("submit --cache " + (s.dir / "cache").string() + " -o " + archive + " " + (s.dir / "r.recipe").string());
  INFO(r.out);
  REQUIRE(r.code == 0);
  return archive;
}

/// `whittle verify` with its temporary files in DIR/tmp, which must be empty again afterwards.
Result verify_clean(const Scratch& s, const std::string& archive) {
  fs::create_directories(s.dir / "tmp");
  const Result r = run_whittle_cmd("TMPDIR=" + (s.dir / "tmp").string() + " " + bin() + " verify " + archive);
  CHECK(fs::is_empty(s.dir / "tmp"));
  CHECK(r.out.find("terminate") == std::string::npos);
  return r;
}

}  // namespace

TEST_CASE("verify reads nothing outside the submission: recipe_file and use are confined to it", "[faults][submit]") {
  Scratch s;
  const std::string archive = make_submission(s);
  REQUIRE(verify_clean(s, archive).code == 0);
  s.write("secret", "top secret line\n");
  const std::string secret = (s.dir / "secret").string();
  for (const std::string& path : {secret, std::string("../../../../../../..") + secret, std::string("recipe/../../secret"), std::string("run.yaml")}) {
    const Result r = verify_clean(s, repack(s, archive, "sed -i 's|\"recipe_file\": \"[^\"]*\"|\"recipe_file\": \"" + path + "\"|' claims.json", true, "p.tar.gz"));
    INFO(path << "\n" << r.out);
    CHECK(r.code == 1);
    CHECK(r.out.find("names no recipe file that the submission holds") != std::string::npos);
    CHECK(r.out.find("top secret") == std::string::npos);
  }
  for (const std::string& use : {secret, std::string("../../../../../../..") + secret}) {
    const Result r = verify_clean(s, repack(s, archive, "sed -i '1a use \"" + use + "\"' recipe/r.recipe", true, "u.tar.gz"));
    INFO(use << "\n" << r.out);
    CHECK(r.code == 1);
    CHECK(r.out.find("names a file outside the submission: refused") != std::string::npos);
    CHECK(r.out.find("top secret") == std::string::npos);
  }
}

TEST_CASE("verify rejects malformed claims and archives without aborting, and checks every claim", "[faults][submit]") {
  Scratch s;
  const std::string archive = make_submission(s);
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"s/\"accuracy\": [0-9.e-]*/\"accuracy\": \"high\"/", "its claim `accuracy` is not a number"},
      {"s/\"model_stage\": [0-9]*/\"model_stage\": \"four\"/", "its `model_stage` is string"},
      {"del j['model_key']", "it has no `model_key`"},
      {"del j['claims']['sparsity']", "it claims no `sparsity`"},
      {"j = [j]", "it is not a JSON object"},
      {"j['claims'] = {}", "it claims no `accuracy`"},
  };
  for (const auto& [edit, says] : edits) {
    const std::string cmd = edit[0] == 's' ? "sed -i '" + edit + "' claims.json"
                                           : "python3 -c \"import json; j = json.load(open('claims.json')); " + edit +
                                                 "; json.dump(j, open('claims.json', 'w'))\"";
    const Result r = verify_clean(s, repack(s, archive, cmd, true, "c.tar.gz"));
    INFO(edit << "\n" << r.out);
    CHECK(r.code == 1);
    CHECK(r.out.find(says) != std::string::npos);
  }
  // `a` and `a/b` in one archive; a 4,200-character path.
  const std::string x = (s.dir / "x").string();
  const Result both = run_whittle_cmd("rm -rf " + x + " && mkdir " + x + " && cd " + x + " && tar xzf " + archive + " && tar cf t.tar sub && "
                                      "echo y > y && tar rf t.tar --transform 's|^y$|sub/recipe/r.recipe/y|' y && gzip t.tar");
  REQUIRE(both.code == 0);
  const Result r1 = verify_clean(s, x + "/t.tar.gz");
  CHECK(r1.code == 1);
  INFO(r1.out);
  CHECK(r1.out.find("`recipe/r.recipe` is both a file and a folder") != std::string::npos);
  const Result longp = run_whittle_cmd("cd " + x + " && rm -f t.tar.gz && tar cf t.tar sub && tar rf t.tar --transform 's|^y$|sub/report/" +
                                       std::string(4200, 'a') + "|' y && gzip t.tar");
  REQUIRE(longp.code == 0);
  const Result r2 = verify_clean(s, x + "/t.tar.gz");
  CHECK(r2.code == 1);
  CHECK(r2.out.find("characters, longer than a submission's paths may be") != std::string::npos);
}

TEST_CASE("verify bounds each entry by its kind and never allocates what a header declares", "[faults][submit]") {
  Scratch s;
  const std::string archive = make_submission(s);
  const std::string x = (s.dir / "x").string();
  // A tar entry whose header declares 5 GiB, followed by a few bytes: python's tarfile writes the header.
  const std::string py = "import tarfile, gzip, os\n"
                         "out = b''\n"
                         "for root, dirs, files in os.walk('sub'):\n"
                         "    for f in files:\n"
                         "        p = os.path.join(root, f); b = open(p, 'rb').read()\n"
                         "        ti = tarfile.TarInfo(p); ti.size = len(b)\n"
                         "        out += ti.tobuf(format=tarfile.GNU_FORMAT) + b + bytes(-len(b) % 512)\n"
                         "ti = tarfile.TarInfo('sub/report/zeros'); ti.size = 5 << 30\n"
                         "gzip.open('big.tar.gz', 'wb').write(out + ti.tobuf(format=tarfile.GNU_FORMAT) + bytes(4096))\n";
  s.write("big.py", py);
  const Result made = run_whittle_cmd("rm -rf " + x + " && mkdir " + x + " && cd " + x + " && tar xzf " + archive + " && python3 " +
                                      (s.dir / "big.py").string());
  REQUIRE(made.code == 0);
  const Result r = verify_clean(s, x + "/big.tar.gz");
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.out.find("declares 5368709120 bytes, more than a submission's `report/zeros` may have") != std::string::npos);
  // A file of no kind a submission holds, listed in the manifest.
  const Result extra = verify_clean(s, repack(s, archive, "head -c 1000 /dev/zero > zeros", true, "z.tar.gz"));
  CHECK(extra.code == 1);
  CHECK(extra.out.find("is no file a submission holds") != std::string::npos);
}

TEST_CASE("verify fails a model the recipe cannot have made, claims and run record edited to match", "[faults][submit]") {
  Scratch s;
  const std::string archive = make_submission(s);
  const auto j = json_of(run_in(s));
  const std::string dense = j["stages"][2]["key"];  // the train's model: dense, before `prune 50%`
  const fs::path model = s.dir / "cache" / "objects" / dense.substr(0, 2) / dense / "model.pt";
  // Every figure the model gives is written into claims.json and run.yaml: only what follows from
  // the recipe itself can tell.
  const Result r = verify_clean(s, repack(s, archive, "cp " + model.string() + " model.pt", true, "d.tar.gz"));
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(std::regex_search(r.out, std::regex("FAIL model fits the recipe +[0-9]+ p, 32 b, ≥50")));
}

TEST_CASE("submit packs only a model whose entry verifies, and writes only a regular file", "[faults][submit]") {
  Scratch s;
  make_submission(s);
  const std::string cache = (s.dir / "cache").string(), recipe = (s.dir / "r.recipe").string();
  const Result dev = run_whittle("submit --cache " + cache + " -o /dev/full " + recipe);
  CHECK(dev.code == 1);
  CHECK(dev.out.find("whittle writes a submission only to a regular file") != std::string::npos);
  struct stat st {};
  REQUIRE(::stat("/dev/full", &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  const auto j = json_of(run_in(s));
  const std::string key = j["stages"][4]["key"];  // the retrain: the model submitted
  fs::resize_file(s.dir / "cache" / "objects" / key.substr(0, 2) / key / "model.pt", 1000);
  const Result bad = run_whittle("submit --cache " + cache + " -o " + (s.dir / "bad.tar.gz").string() + " " + recipe);
  INFO(bad.out);
  CHECK(bad.code == 1);
  CHECK(bad.out.find("is corrupt") != std::string::npos);
  CHECK_FALSE(fs::exists(s.dir / "bad.tar.gz"));
}

TEST_CASE("special files are refused before they are read: pipes, devices, folders", "[faults][input]") {
  Scratch s;
  REQUIRE(run_whittle_cmd("mkfifo " + (s.dir / "fifo.recipe").string()).code == 0);
  const std::string fifo = (s.dir / "fifo.recipe").string();
  s.write("uses.recipe", "use \"fifo.recipe\"\ndata synthetic\nmodel small_cnn\nevaluate\n");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"lint " + fifo, "named pipe"},
      {"lint " + (s.dir / "uses.recipe").string(), "named pipe"},
      {"fmt " + fifo, "named pipe"},
      {"fmt --check " + fifo, "named pipe"},
      {"ast " + fifo, "named pipe"},
      {"verify " + fifo, "named pipe"},
      {"fmt /dev/zero", "a device"},
      {"ast /dev/zero", "a device"},
      {"lint /dev/zero", "a device"},
      {"lint " + s.dir.string(), "directory"},
  };
  for (const auto& [args, says] : cases) {
    const Result r = run_whittle_cmd("timeout 20 " + bin() + " " + args);
    INFO(args << "\n" << r.out);
    CHECK(r.code != 0);
    CHECK(r.code != 124);  // not a hang
    CHECK(r.out.find(says) != std::string::npos);
  }
}

TEST_CASE("deep nesting is a diagnostic, never a stack overflow", "[faults][input]") {
  Scratch s;
  std::string defines;
  for (int i = 0; i < 5000; ++i) defines += "define d" + std::to_string(i) + "() {\n  d" + std::to_string(i + 1) + "\n}\n";
  defines += "define d5000() {\n  evaluate\n}\ndata synthetic\nmodel small_cnn\nd0\n";
  s.write("defines.recipe", defines);
  const Result d = run_whittle("lint " + (s.dir / "defines.recipe").string());
  INFO(d.out.substr(0, 2000));
  CHECK(d.code == 1);
  CHECK(d.out.find("E0111") != std::string::npos);
  for (int i = 0; i < 5000; ++i) s.write("u" + std::to_string(i) + ".recipe", "use \"u" + std::to_string(i + 1) + ".recipe\"\n");
  s.write("u5000.recipe", "data synthetic\n");
  const Result u = run_whittle("lint " + (s.dir / "u0.recipe").string());
  INFO(u.out.substr(0, 2000));
  CHECK(u.code == 1);
  CHECK(u.out.find("`use`s nested more than 64 files deep") != std::string::npos);
}

TEST_CASE("a long line is shown as a window, and control characters never cut a diagnostic short", "[faults][input]") {
  Scratch s;
  s.write("long.recipe", "data synthetic " + std::string(15 << 20, 'x') + "\n");
  const Result r = run_whittle("lint " + (s.dir / "long.recipe").string());
  CHECK(r.code == 1);
  CHECK(r.out.size() < 20000);
  s.write("nul.recipe", std::string("data synthetic\nmodel small_cnn\nprune 20%\0 junk\nevaluate\n", 48));
  const Result n = run_whittle("lint " + (s.dir / "nul.recipe").string());
  INFO(n.out);
  CHECK(n.code == 1);
  CHECK(n.out.find('\0') == std::string::npos);
  CHECK(n.out.find("help:") != std::string::npos);
  CHECK(n.out.find("error: ") != std::string::npos);  // the summary line after the diagnostic
}

TEST_CASE("a thread count outside 1 to four per core is refused with help", "[faults][input]") {
  Scratch s;
  s.write("r.recipe", kTrain);
  for (const char* t : {"-1", "0", "100000", "two"}) {
    const Result r = run_whittle(std::string("run --threads ") + t + " " + (s.dir / "r.recipe").string());
    INFO(r.out);
    CHECK(r.code == 2);
    CHECK(r.out.find("is not a thread count: give a number from 1 to") != std::string::npos);
  }
}

TEST_CASE("fmt writes through a symbolic link and keeps it", "[faults][input]") {
  Scratch s;
  s.write("real.recipe", "data   synthetic\nmodel small_cnn\n");
  fs::create_symlink(s.dir / "real.recipe", s.dir / "link.recipe");
  REQUIRE(run_whittle("fmt " + (s.dir / "link.recipe").string()).code == 0);
  CHECK(fs::is_symlink(s.dir / "link.recipe"));
  CHECK(s.read("real.recipe") == "data synthetic\nmodel small_cnn\n");
}

namespace {

/// Writes a Fashion-MNIST look-alike into DIR/fm: idx files, gzipped; `images` overrides the
/// training images' header (n, h, w); `tail` is appended to the training images' gzip file.
void fake_fashion(const Scratch& s, const std::string& images = "", const std::string& tail = "") {
  fs::create_directories(s.dir / "fm");
  const std::string py =
      "import gzip, struct, sys\n"
      "def write(name, data, tail=b''):\n"
      "    open('" + (s.dir / "fm").string() + "/' + name, 'wb').write(gzip.compress(data) + tail)\n"
      "def images(n, h, w, header=None):\n"
      "    return struct.pack('>IIII', 0x803, *(header or (n, h, w))) + bytes((i * 7) % 256 for i in range(n * h * w))\n"
      "def labels(n):\n"
      "    return struct.pack('>II', 0x801, n) + bytes(i % 10 for i in range(n))\n"
      "header = tuple(int(x) for x in sys.argv[1].split(',')) if sys.argv[1] else None\n"
      "write('train-images-idx3-ubyte.gz', images(64, 28, 28, header), sys.argv[2].encode())\n"
      "write('train-labels-idx1-ubyte.gz', labels(64))\n"
      "write('t10k-images-idx3-ubyte.gz', images(32, 28, 28))\n"
      "write('t10k-labels-idx1-ubyte.gz', labels(32))\n";
  s.write("fake.py", py);
  REQUIRE(run_whittle_cmd("python3 " + (s.dir / "fake.py").string() + " '" + images + "' '" + tail + "'").code == 0);
  s.write("r.recipe", "data fashion_mnist root: \"" + (s.dir / "fm").string() + "\"\nmodel small_cnn width: 4\ntrain 1 epoch\nevaluate\n");
}

}  // namespace

TEST_CASE("broken data files are errors at the data line, in words, not LibTorch internals", "[faults][input]") {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"", "", ""},  // the look-alike itself trains
      {"", "garbage after the end", "of something other than gzip data after its end"},
      {"0,28,28", "", "holds no images"},
      {"4294967295,4294967295,4294967295", "", "holds images of 4294967295x4294967295; Fashion-MNIST's are 28x28"},
      {"64,1,1", "", "holds images of 1x1"},
  };
  for (const auto& [header, tail, says] : cases) {
    Scratch s;
    fake_fashion(s, header, tail);
    const Result r = run_in(s);
    INFO(header << " " << tail << "\n" << r.out);
    if (says.empty()) {
      CHECK(r.code == 0);
      continue;
    }
    CHECK(r.code == 1);
    CHECK(r.out.find(says) != std::string::npos);
    CHECK(r.out.find("r.recipe:1") != std::string::npos);
    CHECK(r.out.find("c10::") == std::string::npos);
  }
  Scratch s;
  s.write("r.recipe", "data synthetic size: 1e15\nmodel small_cnn\nevaluate\n");
  const Result huge = run_in(s);
  CHECK(huge.code == 1);
  CHECK(huge.out.find("E0203") != std::string::npos);
}

TEST_CASE("an unreadable data file is an error at the data line and never fingerprinted", "[faults][input]") {
  if (!have_strace()) return;
  Scratch s;
  fake_fashion(s);
  const std::string images = (s.dir / "fm" / "train-images-idx3-ubyte.gz").string();
  const std::string deny = "-P " + images + " -e trace=open,openat -e inject=open,openat:error=EACCES";
  const Result cold = run_in(s, deny);
  INFO(cold.out);
  CHECK(cold.code == 1);
  CHECK(cold.out.find("cannot read `" + images + "`: Permission denied") != std::string::npos);
  CHECK(cold.out.find("error[R0002]") != std::string::npos);
  CHECK(s.read("cache/fingerprints.tsv").find("train-images") == std::string::npos);
  // Readable again: it trains; unreadable once more, with everything cached: still an error.
  const auto j = json_of(run_in(s));
  CHECK(j["stages"][2]["status"] == "ran");
  const Result warm = run_in(s, deny);
  CHECK(warm.code == 1);
  CHECK(warm.out.find("Permission denied") != std::string::npos);
}
