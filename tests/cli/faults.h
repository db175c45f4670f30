// Helpers of the fault and hostile-input tests (test_faults.cc, test_hostile.cc): runs of a recipe
// in a scratch folder, under strace's fault injection when asked, and small tmpfs mounts.
#pragma once
#include <sys/mount.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/cli/helpers.h"

namespace whittle::test::faults {
namespace fs = std::filesystem;

inline const char* kTrain =
    "recipe faults\n"
    "data synthetic size: 256 validation: 10%\n"
    "model small_cnn width: 4\n"
    "train 2 epochs optimizer: sgd(lr: 0.05, momentum: 0.9) batch: 64 eval_every: 1 snapshot_every: 1\n"
    "evaluate\n";

inline std::string bin() { return WHITTLE_BIN; }

inline bool have_strace() { return run_whittle_cmd("command -v strace").code == 0; }

/// strace, and LeakSanitizer off under it (in the sanitizer build): it cannot run under ptrace.
inline const char* kStrace = "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq ";

/// strace options that kill the traced run at its n-th rename.
inline std::string kill_at_rename(std::size_t n) {
  return "-e trace=rename,renameat,renameat2 -e inject=rename,renameat,renameat2:signal=KILL:when=" + std::to_string(n);
}

/// `whittle run` of DIR/r.recipe with its cache in DIR/cache, under strace when `strace` is given.
inline Result run_in(const Scratch& s, const std::string& strace = "", const std::string& extra = "") {
  const std::string cmd = bin() + " run --threads 1 --format json --cache " + (s.dir / "cache").string() + " " + extra +
                          " " + (s.dir / "r.recipe").string();
  return run_whittle_cmd(strace.empty() ? cmd : kStrace + std::string("-o /dev/null ") + strace + " " + cmd);
}

inline nlohmann::json json_of(const Result& r) {
  INFO(r.out);
  REQUIRE(r.code == 0);
  return nlohmann::json::parse(r.out.substr(r.out.find("{\n")));
}

/// The renames a whole run makes, in order (the paths renamed to), from strace.
inline std::vector<std::string> renames_of_run(const Scratch& s) {
  const std::string log = (s.dir / "renames.txt").string();
  const Result r = run_whittle_cmd(kStrace + std::string("-o ") + log + " -e trace=rename,renameat,renameat2 " + bin() +
                                   " run --threads 1 --format json --cache " + (s.dir / "cache").string() + " " +
                                   (s.dir / "r.recipe").string());
  REQUIRE(r.code == 0);
  std::vector<std::string> out;
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.find("rename") != std::string::npos && line.find("= 0") != std::string::npos) out.push_back(line);
  return out;
}

/// Runs DIR/r.recipe (written with `recipe`) and submits it as DIR/sub.tar.gz; its path.
inline std::string submitted_run(const Scratch& s, const std::string& recipe) {
  s.write("r.recipe", recipe);
  json_of(run_in(s));
  const std::string archive = (s.dir / "sub.tar.gz").string();
  const Result r = run_whittle("submit --cache " + (s.dir / "cache").string() + " -o " + archive + " " +
                               (s.dir / "r.recipe").string());
  INFO(r.out);
  REQUIRE(r.code == 0);
  return archive;
}

/// `whittle verify` with its temporary files in DIR/tmp, which must be empty again afterwards.
inline Result verify_clean(const Scratch& s, const std::string& archive) {
  fs::create_directories(s.dir / "tmp");
  const Result r = run_whittle_cmd("TMPDIR=" + (s.dir / "tmp").string() + " " + bin() + " verify " + archive);
  CHECK(fs::is_empty(s.dir / "tmp"));
  CHECK(r.out.find("terminate") == std::string::npos);
  return r;
}

/// A small tmpfs at DIR/NAME (root can mount one here); false where mounting is not allowed.
inline bool mount_tmpfs(const fs::path& at, const std::string& size) {
  fs::create_directories(at);
  return ::mount("tmpfs", at.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
}

/// Mounts it again with other flags and options (a larger size, read-only).
inline bool remount_tmpfs(const fs::path& at, unsigned long flags, const std::string& options) {
  return ::mount("tmpfs", at.c_str(), "tmpfs", MS_REMOUNT | flags, options.c_str()) == 0;
}

struct Unmount {
  fs::path at;
  ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
};

}  // namespace whittle::test::faults
