// What verify runs of a submission: nothing. Its model is read as data (safetensors), its exports are
// written again from that model and compared byte for byte (the submitted file is never run), a
// recipe that scripts its network in PyTorch is refused, its paths are confined before anything is
// opened, and its data comes from the grader (issue 30: S1, S2, S3).
#include <catch2/catch.hpp>

#include "tests/skip.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/cli/faults.h"

namespace fs = std::filesystem;
using namespace whittle::test;
using namespace whittle::test::faults;

namespace {

bool python_torch() {
  if (run_whittle_cmd("/usr/bin/python3 -c 'import torch'").code == 0) return true;
  WARN("/usr/bin/python3 cannot import torch (Debian's python3-torch): the hostile modules of this test are not made");
  return false;
}

/// A submission of a small recipe with a TorchScript export of its model, in `s`.
std::string make_submission(const Scratch& s, const std::string& data = "data synthetic size: 256") {
  return submitted_run(s, "recipe sub\n" + data +
                              "\nmodel small_cnn width: 4\ntrain 1 epoch batch: 64\nevaluate\nexport \"" +
                              (s.dir / "m.ts.pt").string() + "\" format: torchscript\n");
}

Result verify(const Scratch& s, const std::string& archive) { return verify_clean(s, archive); }

/// A module scripted in PyTorch whose loading (__setstate__) and whose forward write `marker`
/// (torch.from_file with shared=True creates and maps a file): code a submission could bring.
void make_hostile_module(const Scratch& s, const fs::path& to, const fs::path& marker, int channels, int classes) {
  s.write("hostile.py",
          "import sys, torch\n"
          "from typing import Tuple\n"
          "class Evil(torch.nn.Module):\n"
          "    def __init__(self):\n"
          "        super().__init__()\n"
          "        self.conv = torch.nn.Conv2d(" +
              std::to_string(channels) +
              ", 4, 3)\n"
              "        self.head = torch.nn.Linear(4, " +
              std::to_string(classes) +
              ")\n"
              "    def forward(self, x):\n"
              "        torch.from_file('" +
              marker.string() +
              ".forward', shared=True, size=8)\n"
              "        return self.head(self.conv(x).mean((2, 3)))\n"
              "    @torch.jit.export\n"
              "    def __getstate__(self) -> Tuple[bool, int]:\n"
              "        return (self.training, 0)\n"
              "    @torch.jit.export\n"
              "    def __setstate__(self, state: Tuple[bool, int]) -> None:\n"
              "        self.training = state[0]\n"
              "        torch.from_file('" +
              marker.string() +
              ".setstate', shared=True, size=8)\n"
              "torch.jit.script(Evil()).save(sys.argv[1])\n");
  const Result r = run_whittle_cmd("/usr/bin/python3 " + (s.dir / "hostile.py").string() + " " + to.string());
  INFO(r.out);
  REQUIRE(r.code == 0);
}

bool any_marker(const fs::path& marker) {
  return fs::exists(marker.string() + ".setstate") || fs::exists(marker.string() + ".forward");
}

}  // namespace

TEST_CASE("verify loads the model as data: a TorchScript archive in its place is refused unrun",
          "[untrusted][submit]") {
  Scratch s;
  const std::string archive = make_submission(s);
  REQUIRE(verify(s, archive).code == 0);
  const fs::path marker = s.dir / "pwned";
  fs::path module = fs::path(WHITTLE_SOURCE_DIR) / "tests" / "fixtures" / "student_net_1ch.pt";
  if (python_torch()) {
    module = s.dir / "evil.pt";
    make_hostile_module(s, module, marker, 1, 4);
  }
  const Result r = verify(s, repack(s, archive, "cp " + module.string() + " model.safetensors", true, "evil.tar.gz"));
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.out.find("is not a valid safetensors file") != std::string::npos);
  CHECK_FALSE(any_marker(marker));
  // A submission of the old layout (model.pt) is named as such, and nothing of it is loaded.
  const Result old = verify(s, repack(s, archive, "mv model.safetensors model.pt", true, "old.tar.gz"));
  CHECK(old.code == 1);
  CHECK(old.out.find("it holds `model.pt`") != std::string::npos);
}

TEST_CASE("verify never runs a submitted export: it writes the export again and compares the bytes",
          "[untrusted][submit]") {
  if (!python_torch()) return;
  Scratch s;
  const std::string archive = make_submission(s);
  const Result good = verify(s, archive);
  INFO(good.out);
  REQUIRE(good.code == 0);
  CHECK(std::regex_search(good.out, std::regex("ok +export m\\.ts\\.pt")));
  const fs::path marker = s.dir / "pwned";
  make_hostile_module(s, s.dir / "evil.pt", marker, 1, 4);
  const Result r =
      verify(s, repack(s, archive, "cp " + (s.dir / "evil.pt").string() + " exports/m.ts.pt", true, "export.tar.gz"));
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(std::regex_search(
      r.out,
      std::regex("FAIL export m\\.ts\\.pt .*not the TorchScript export whittle writes from the submitted model")));
  CHECK(r.out.find("it was not run") != std::string::npos);
  CHECK_FALSE(any_marker(marker));
}

TEST_CASE("a recipe that scripts its network is verified only in a sandbox, where its code reaches nothing",
          "[untrusted][submit][sandbox]") {
  if (!python_torch()) return;
  const bool sandbox = run_whittle_cmd("command -v bwrap").code == 0;
  if (!sandbox) WARN("bubblewrap is not installed: only the refusal is checked");
  Scratch s;
  /// A submission of a recipe whose network is `module` (made by `python` with `make`), run and
  /// submitted on the student's side (where the module's files exist).
  auto submitted = [&](const std::string& make) {
    s.write("make.py", make);
    const Result made = run_whittle_cmd("/usr/bin/python3 " + (s.dir / "make.py").string());
    INFO(made.out);
    REQUIRE(made.code == 0);
    fs::remove_all(s.dir / "cache");
    return submitted_run(s,
                         "recipe sub\ndata synthetic size: 256\nmodel torchscript path: \"net.pt\"\ntrain 1 epoch "
                         "batch: 64\nevaluate\n");
  };
  const std::string head =
      "import torch\nclass N(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
      "        self.conv = torch.nn.Conv2d(1, 4, 3)\n        self.head = torch.nn.Linear(4, 4)\n    def forward(self, "
      "x):\n";
  const std::string tail = "        return self.head(self.conv(x).mean((2, 3)))\ntorch.jit.script(N()).save('" +
                           (s.dir / "net.pt").string() + "')\n";
  // An honest network: verified in the sandbox.
  const std::string honest = submitted(head + tail);
  const Result ok = verify(s, honest);
  INFO(ok.out);
  if (!sandbox) {
    CHECK(ok.code == 2);
    CHECK(ok.out.find("running that code needs a sandbox") != std::string::npos);
    return;
  }
  CHECK(ok.code == 0);
  CHECK(ok.out.find("verifying it in a sandbox") != std::string::npos);
  CHECK(ok.out.find("verified: every claim holds") != std::string::npos);
  // A network whose forward writes a file beside the recipe (it could on the student's machine):
  // inside the sandbox that folder does not exist, and nothing appears here.
  const fs::path marker = s.dir / "pwned";
  const std::string writer = submitted(head + "        w = torch.from_file('" + marker.string() +
                                       "', shared=True, size=8)\n        print(w.sum())\n" + tail);
  REQUIRE(fs::exists(marker));
  fs::remove(marker);
  const Result w = verify(s, writer);
  INFO(w.out);
  CHECK(w.code == 1);
  CHECK_FALSE(fs::exists(marker));
  // One whose forward reads a file of the machine it runs on into its logits: not there inside.
  s.write("secret", "top secret line\n");
  const std::string reader = submitted(head + "        t = torch.from_file('" + (s.dir / "secret").string() +
                                       "', shared=False, size=15, dtype=torch.uint8)\n        print(t)\n" + tail);
  const Result r = verify(s, reader);
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.out.find("116") == std::string::npos);  // 't' of "top secret", as print(t) would show it
  // A forward that takes a second or more per batch (a loop that would never end is the same to the
  // limit): past its time limit, the whole sandbox is killed.
  const std::string slow =
      submitted(head + "        s = torch.zeros(1)\n        for i in range(400000):\n            s = s + 1\n" +
                "        return self.head(self.conv(x).mean((2, 3))) + s * 0\ntorch.jit.script(N()).save('" +
                (s.dir / "net.pt").string() + "')\n");
  const Result killed =
      run_whittle_cmd("TMPDIR=" + (s.dir / "tmp").string() + " " + bin() + " verify --time-limit 1 " + slow);
  INFO(killed.out);
  CHECK(killed.code == 1);
  CHECK(killed.out.find("ran past the 1 s limit and was killed") != std::string::npos);
}

TEST_CASE("a submitted recipe's paths outside the submission tell nothing of what lies there", "[untrusted][submit]") {
  Scratch s;
  const std::string archive = make_submission(s);
  // A path outside the submission: the same answer for a file that exists, one that does not, a device.
  std::string first;
  for (const std::string& p : {std::string("/etc/shadow"), std::string("/etc/no-such-file"), std::string("/dev/zero"),
                               (s.dir / "r.recipe").string()}) {
    const Result o =
        verify(s, repack(s, archive,
                         "sed -i 's|^model small_cnn width: 4|model torchscript path: \"" + p + "\"|' recipe/r.recipe",
                         true, "outside.tar.gz"));
    INFO(p << "\n" << o.out);
    CHECK(o.code == 1);
    std::string
        said;  // its error lines, the path written as PATH (the source excerpt's underline has the path's length)
    std::istringstream lines(o.out);
    for (std::string line; std::getline(lines, line);)
      if (line.rfind("error", 0) == 0) said += line + "\n";
    for (std::size_t at; (at = said.find(p)) != std::string::npos;) said.replace(at, p.size(), "PATH");
    said =
        std::regex_replace(said, std::regex("whittle-[A-Za-z0-9]{6}/"), "whittle-TMP/");  // verify's own scratch folder
    CHECK(said.find("names a file outside the submission: refused") != std::string::npos);
    if (first.empty()) first = said;
    CHECK(said == first);
  }
}

TEST_CASE("verify takes the test data from the grader, never from the submission's `root:`", "[untrusted][submit]") {
  if (!fashion_mnist_installed()) WHITTLE_SKIP("no Fashion-MNIST (Debian's dataset-fashion-mnist)");
  Scratch s;
  // The student's copy of the data, used to train: a folder of links to the real files.
  fs::create_directories(s.dir / "fm");
  for (const auto& e : fs::directory_iterator(kFashionMnist))
    fs::create_symlink(e.path(), s.dir / "fm" / e.path().filename());
  const std::string archive =
      make_submission(s, "data fashion_mnist root: \"" + (s.dir / "fm").string() + "\" subset: 512");
  // The folder the recipe names now holds other test images: a verify that read them would fail.
  fs::remove(s.dir / "fm" / "t10k-labels-idx1-ubyte.gz");
  fs::copy_file(kFashionMnist + "/train-labels-idx1-ubyte.gz", s.dir / "fm" / "t10k-labels-idx1-ubyte.gz");
  const Result r = verify(s, archive);
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("verified") != std::string::npos);
}

TEST_CASE("verify's own faults are not the submission's: a full or read-only temporary folder judges nothing",
          "[untrusted][submit]") {
  Scratch s;
  const std::string archive = make_submission(s);
  const fs::path tmp = s.dir / "small";
  if (!mount_tmpfs(tmp, "64k")) {
    WHITTLE_SKIP("cannot mount a tmpfs here");
  }
  Unmount unmount{tmp};
  const Result full = run_whittle_cmd("TMPDIR=" + tmp.string() + " " + bin() + " verify " + archive);
  INFO(full.out);
  CHECK(full.code == 2);
  CHECK(full.out.find("cannot verify") != std::string::npos);
  CHECK(full.out.find("was not judged") != std::string::npos);
  CHECK(full.out.find("rejected") == std::string::npos);
  REQUIRE(remount_tmpfs(tmp, MS_RDONLY, "size=64k"));
  const Result ro = run_whittle_cmd("TMPDIR=" + tmp.string() + " " + bin() + " verify " + archive);
  INFO(ro.out);
  CHECK(ro.code == 2);
  CHECK(ro.out.find("rejected") == std::string::npos);
}

TEST_CASE("plan never runs a scripted network: its preview waits for a run", "[untrusted][script]") {
  if (!python_torch()) return;
  Scratch s;
  const fs::path marker = s.dir / "pwned";
  make_hostile_module(s, s.dir / "net.pt", marker, 1, 4);
  s.write("r.recipe", "data synthetic size: 64\nmodel torchscript path: \"net.pt\"\ntrain 1 epoch\nevaluate\n");
  const Result r = run_whittle("plan " + (s.dir / "r.recipe").string());
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("figures after `whittle run`") != std::string::npos);
  CHECK_FALSE(any_marker(marker));
}

TEST_CASE("a small submission that inflates past what a submission may hold is refused while it streams",
          "[untrusted][submit]") {
  Scratch s;
  const std::string archive = make_submission(s);
  // Three files of 200 MiB of zeros under recipe/ (each within its own bound): the archive is a
  // fraction of a MiB, its files 600 MiB.
  const std::string bomb =
      repack(s, archive, "for f in a b c; do head -c 200M /dev/zero > recipe/$f.bin; done", true, "bomb.tar.gz");
  CHECK(fs::file_size(bomb) < (2u << 20));
  const Result r = verify(s, bomb);
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.out.find("its files add up to more than the 512 MiB a submission may hold in all") != std::string::npos);
}
