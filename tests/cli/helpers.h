// Helpers for the end-to-end tests: run `whittle` and capture its output, and a scratch folder.
#pragma once
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/skip.h"

namespace whittle::test {

struct Result {
  int code;
  std::string out;  ///< stdout and stderr together
};

/// Runs a shell command and waits for it.
inline Result run_whittle_cmd(const std::string& command) {
  const std::string cmd = command + " 2>&1";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// Runs `whittle ARGS` through the shell and waits for it.
inline Result run_whittle(const std::string& args) { return run_whittle_cmd(std::string(WHITTLE_BIN) + " " + args); }

/// A fresh folder under /tmp, removed at the end of the test.
struct Scratch {
  std::filesystem::path dir;
  Scratch() {
    char tmpl[] = "/tmp/whittle-test-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~Scratch() {
    std::error_code ec;  // never throw from a destructor
    std::filesystem::remove_all(dir, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  }
  std::string read(const std::string& name) const {
    std::ifstream in(dir / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
};

/// `whittle run --format json` of a recipe written into the scratch folder, with its cache there too.
/// Debian's dataset-fashion-mnist, where the tests that need the real Fashion-MNIST find it.
inline const std::string kFashionMnist = "/usr/share/datasets/fashion-mnist";
/// Whether it is installed; says that the test is skipped when it is not.
inline bool fashion_mnist_installed() {
  if (std::filesystem::exists(kFashionMnist + "/t10k-images-idx3-ubyte.gz")) return true;
  WARN("skipped: no Fashion-MNIST at " << kFashionMnist << " (Debian's dataset-fashion-mnist)");
  return false;
}

inline nlohmann::json run_json(const Scratch& s, const std::string& recipe, const std::string& extra = "",
                               const std::string& name = "r.recipe") {
  const Result r = run_whittle("run --threads 1 --format json --cache " + (s.dir / "cache").string() + " " + extra +
                               " " + s.write(name, recipe));
  INFO(r.out);
  REQUIRE(r.code == 0);
  return nlohmann::json::parse(r.out.substr(r.out.find('{')));
}

/// Unpacks a submission (top folder `sub`) into DIR/x, runs `edit` there (a shell command), re-sums
/// the manifest if asked, and packs it again as DIR/NAME.
inline std::string repack(const Scratch& s, const std::string& archive, const std::string& edit, bool resum,
                          const std::string& name) {
  const std::string x = (s.dir / "x").string();
  std::string cmd =
      "rm -rf " + x + " && mkdir " + x + " && tar xzf " + archive + " -C " + x + " && cd " + x + "/sub && " + edit;
  if (resum)
    cmd +=
        " && find . -type f ! -name MANIFEST.sha256 | sed 's|^\\./||' | LC_ALL=C sort | xargs sha256sum > "
        "MANIFEST.sha256";
  cmd += " && cd " + x + " && tar czf " + (s.dir / name).string() + " sub";
  const Result r = run_whittle_cmd(cmd);
  INFO(cmd << "\n" << r.out);
  REQUIRE(r.code == 0);
  return (s.dir / name).string();
}

/// The metrics and the checksums of every file but the log, of every entry of a run (a run's
/// results, bitwise, leaving out what holds timings).
inline std::string entries_fingerprint(const std::filesystem::path& cache, const nlohmann::json& run) {
  std::string out;
  for (const auto& st : run["stages"]) {
    const std::string key = st["key"];
    out += st["kind"].get<std::string>() + " " + st["metrics"].dump() + "\n";
    std::ifstream in(cache / "objects" / key.substr(0, 2) / key / "manifest.yaml");
    std::string line;
    while (std::getline(in, line))
      if (line.find("sha256:") != std::string::npos && line.find("log.txt") == std::string::npos) out += line + "\n";
  }
  return out;
}

}  // namespace whittle::test
