// Hostile input: tampered submissions, special files, deep nesting, long lines and NULs, absurd
// options, broken and unreadable data. Each case reproduced a defect before it was fixed (issue 14).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "tests/cli/faults.h"

namespace fs = std::filesystem;
using namespace whittle::test;
using namespace whittle::test::faults;

namespace {

/// A verified submission of a small recipe that prunes 50%, in `s` (sub.tar.gz), and its cache.
std::string make_submission(const Scratch& s) {
  return submitted_run(
      s,
      "recipe sub\ndata synthetic size: 256\nmodel small_cnn width: 4\ntrain 2 epochs batch: 64\nprune 50%\n"
      "retrain 1 epoch\nevaluate\n");
}

}  // namespace

TEST_CASE("verify reads nothing outside the submission: recipe_file and use are confined to it", "[faults][submit]") {
  Scratch s;
  const std::string archive = make_submission(s);
  REQUIRE(verify_clean(s, archive).code == 0);
  s.write("secret", "top secret line\n");
  const std::string secret = (s.dir / "secret").string();
  for (const std::string& path : {secret, std::string("../../../../../../..") + secret,
                                  std::string("recipe/../../secret"), std::string("run.yaml")}) {
    const Result r = verify_clean(
        s, repack(s, archive, "sed -i 's|\"recipe_file\": \"[^\"]*\"|\"recipe_file\": \"" + path + "\"|' claims.json",
                  true, "p.tar.gz"));
    INFO(path << "\n" << r.out);
    CHECK(r.code == 1);
    CHECK(r.out.find("names no recipe file that the submission holds") != std::string::npos);
    CHECK(r.out.find("top secret") == std::string::npos);
  }
  for (const std::string& use : {secret, std::string("../../../../../../..") + secret}) {
    const Result r =
        verify_clean(s, repack(s, archive, "sed -i '1a use \"" + use + "\"' recipe/r.recipe", true, "u.tar.gz"));
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
  const Result both =
      run_whittle_cmd("rm -rf " + x + " && mkdir " + x + " && cd " + x + " && tar xzf " + archive +
                      " && tar cf t.tar sub && "
                      "echo y > y && tar rf t.tar --transform 's|^y$|sub/recipe/r.recipe/y|' y && gzip t.tar");
  REQUIRE(both.code == 0);
  const Result r1 = verify_clean(s, x + "/t.tar.gz");
  CHECK(r1.code == 1);
  INFO(r1.out);
  CHECK(r1.out.find("`recipe/r.recipe` is both a file and a folder") != std::string::npos);
  const Result longp = run_whittle_cmd(
      "cd " + x + " && rm -f t.tar.gz && tar cf t.tar sub && tar rf t.tar --transform 's|^y$|sub/report/" +
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
  const std::string py =
      "import tarfile, gzip, os\n"
      "out = b''\n"
      "for root, dirs, files in os.walk('sub'):\n"
      "    for f in files:\n"
      "        p = os.path.join(root, f); b = open(p, 'rb').read()\n"
      "        ti = tarfile.TarInfo(p); ti.size = len(b)\n"
      "        out += ti.tobuf(format=tarfile.GNU_FORMAT) + b + bytes(-len(b) % 512)\n"
      "ti = tarfile.TarInfo('sub/report/zeros'); ti.size = 5 << 30\n"
      "gzip.open('big.tar.gz', 'wb').write(out + ti.tobuf(format=tarfile.GNU_FORMAT) + bytes(4096))\n";
  s.write("big.py", py);
  const Result made = run_whittle_cmd("rm -rf " + x + " && mkdir " + x + " && cd " + x + " && tar xzf " + archive +
                                      " && python3 " + (s.dir / "big.py").string());
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

TEST_CASE("verify fails a model the recipe cannot have made, claims and run record edited to match",
          "[faults][submit]") {
  Scratch s;
  const std::string archive = make_submission(s);
  const auto j = json_of(run_in(s));
  const std::string dense = j["stages"][2]["key"];  // the train's model: dense, before `prune 50%`
  const fs::path model = s.dir / "cache" / "objects" / dense.substr(0, 2) / dense / "model.safetensors";
  // Every figure the model gives is written into claims.json and run.yaml: only what follows from
  // the recipe itself can tell.
  const Result r = verify_clean(s, repack(s, archive, "cp " + model.string() + " model.safetensors", true, "d.tar.gz"));
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
  fs::resize_file(s.dir / "cache" / "objects" / key.substr(0, 2) / key / "model.safetensors", 1000);
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
      {"lint " + fifo, "named pipe"}, {"lint " + (s.dir / "uses.recipe").string(), "named pipe"},
      {"fmt " + fifo, "named pipe"},  {"fmt --check " + fifo, "named pipe"},
      {"ast " + fifo, "named pipe"},  {"verify " + fifo, "named pipe"},
      {"fmt /dev/zero", "a device"},  {"ast /dev/zero", "a device"},
      {"lint /dev/zero", "a device"}, {"lint " + s.dir.string(), "directory"},
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
  for (int i = 0; i < 5000; ++i)
    defines += "define d" + std::to_string(i) + "() {\n  d" + std::to_string(i + 1) + "\n}\n";
  defines += "define d5000() {\n  evaluate\n}\ndata synthetic\nmodel small_cnn\nd0\n";
  s.write("defines.recipe", defines);
  const Result d = run_whittle("lint " + (s.dir / "defines.recipe").string());
  INFO(d.out.substr(0, 2000));
  CHECK(d.code == 1);
  CHECK(d.out.find("E0111") != std::string::npos);
  for (int i = 0; i < 5000; ++i)
    s.write("u" + std::to_string(i) + ".recipe", "use \"u" + std::to_string(i + 1) + ".recipe\"\n");
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
      "    open('" +
      (s.dir / "fm").string() +
      "/' + name, 'wb').write(gzip.compress(data) + tail)\n"
      "def images(n, h, w, header=None):\n"
      "    return struct.pack('>IIII', 0x803, *(header or (n, h, w))) + bytes((i * 7) % 256 for i in range(n * h * "
      "w))\n"
      "def labels(n):\n"
      "    return struct.pack('>II', 0x801, n) + bytes(i % 10 for i in range(n))\n"
      "header = tuple(int(x) for x in sys.argv[1].split(',')) if sys.argv[1] else None\n"
      "write('train-images-idx3-ubyte.gz', images(64, 28, 28, header), sys.argv[2].encode())\n"
      "write('train-labels-idx1-ubyte.gz', labels(64))\n"
      "write('t10k-images-idx3-ubyte.gz', images(32, 28, 28))\n"
      "write('t10k-labels-idx1-ubyte.gz', labels(32))\n";
  s.write("fake.py", py);
  REQUIRE(run_whittle_cmd("python3 " + (s.dir / "fake.py").string() + " '" + images + "' '" + tail + "'").code == 0);
  s.write("r.recipe", "data fashion_mnist root: \"" + (s.dir / "fm").string() +
                          "\"\nmodel small_cnn width: 4\ntrain 1 epoch\nevaluate\n");
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

TEST_CASE("the same data at another path reuses every entry: the key follows the files' content", "[faults][input]") {
  Scratch s;
  fake_fashion(s);
  json_of(run_in(s));
  fs::rename(s.dir / "fm", s.dir / "moved");
  s.write("r.recipe", std::regex_replace(s.read("r.recipe"), std::regex("/fm\""), "/moved\""));
  const auto j = json_of(run_in(s));
  for (const auto& st : j["stages"]) CHECK(st["status"] == "cached");
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

TEST_CASE("a submission of a run with --set values holds only real files, and verifies with the same values",
          "[faults][submit]") {
  Scratch s;
  s.write(
      "r.recipe",
      "recipe sub\nlet epochs = 1 epoch\ndata synthetic size: 256\nmodel small_cnn width: 4\ntrain $epochs batch: 64\n"
      "evaluate\n");
  const std::string recipe = (s.dir / "r.recipe").string(), cache = (s.dir / "cache").string();
  REQUIRE(run_whittle("run --cache " + cache + " --set 'epochs=2 epochs' " + recipe).code == 0);
  const std::string archive = (s.dir / "sub.tar.gz").string();
  const Result r = run_whittle("submit --cache " + cache + " --set 'epochs=2 epochs' -o " + archive + " " + recipe);
  INFO(r.out);
  REQUIRE(r.code == 0);
  const Result listing = run_whittle_cmd("tar tzf " + archive);
  CHECK(listing.out.find("--set") == std::string::npos);
  CHECK(listing.out.find("sub/recipe/r.recipe") != std::string::npos);
  const Result v = verify_clean(s, archive);
  INFO(v.out);
  CHECK(v.code == 0);
  CHECK(v.out.find("verified: every claim holds") != std::string::npos);
}

TEST_CASE("submit packs the model named with --model, and a claim of test accuracy is of the whole test set",
          "[faults][submit]") {
  Scratch s;
  s.write(
      "r.recipe",
      "recipe sub\nlet test_subset = 0\ndata synthetic size: 256 test_subset: $test_subset\nmodel small_cnn width: 4\n"
      "train 2 epochs batch: 64 as dense\nevaluate\nprune 50%\nretrain 1 epoch\nevaluate\n");
  const std::string recipe = (s.dir / "r.recipe").string(), cache = (s.dir / "cache").string();
  REQUIRE(run_whittle("run --cache " + cache + " " + recipe).code == 0);
  const std::string archive = (s.dir / "dense.tar.gz").string();
  const Result r = run_whittle("submit --cache " + cache + " --model dense -o " + archive + " " + recipe);
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("model of #2 train") != std::string::npos);
  CHECK(std::regex_search(r.out, std::regex("sparsity \\(prunable\\) +0\n")));  // the dense model, not the pruned one
  const Result v = verify_clean(s, archive);
  INFO(v.out);
  CHECK(v.code == 0);
  CHECK(v.out.find("as dense") != std::string::npos);
  CHECK(std::regex_search(v.out, std::regex("ok +accuracy measured on +the whole test set \\([0-9]+ of [0-9]+ "
                                            "images\\) +the whole test set \\(#3 evaluate")));
  // A name the recipe does not have, and a name for no model.
  const Result none = run_whittle("submit --cache " + cache + " --model dnse -o " + archive + " " + recipe);
  CHECK(none.code == 1);
  CHECK(none.out.find("names no stage `dnse`") != std::string::npos);
  CHECK(none.out.find("its names: dense") != std::string::npos);

  // On a subset of the test set: submit refuses, and a submission edited to one fails in verify.
  const std::string sub = " --set test_subset=32 ";
  REQUIRE(run_whittle("run --cache " + cache + sub + recipe).code == 0);
  const Result refused = run_whittle("submit --cache " + cache + sub + "-o " + archive + " " + recipe);
  INFO(refused.out);
  CHECK(refused.code == 1);
  CHECK(refused.out.find("measured on 32 test images (`test_subset: 32` at ") != std::string::npos);
  const std::string edited =
      repack(s, archive, "sed -i 's/test_subset = 0/test_subset = 32/' recipe/r.recipe", true, "subset.tar.gz");
  const Result vs = verify_clean(s, edited);
  INFO(vs.out);
  CHECK(vs.code == 1);
  CHECK(std::regex_search(vs.out, std::regex("FAIL accuracy measured on +the whole test set \\([0-9]+ of [0-9]+ "
                                             "images\\)\\s+32 test images \\(test_subset\\): not the test accuracy")));
}

TEST_CASE(
    "the second campaign's small findings: --stage '', exports through dangling links, export errors at their line",
    "[faults][input]") {
  Scratch s;
  s.write(
      "r.recipe",
      "recipe small\ndata synthetic size: 128\nmodel small_cnn width: 4\ntrain 1 epoch batch: 64\nexport \"out.pt\"\n");
  // An export whose path is a link to a file not there yet: the file is made, the link kept.
  fs::create_symlink("real.pt", s.dir / "out.pt");
  const Result run =
      run_whittle_cmd("cd " + s.dir.string() + " && " + bin() + " run --threads 1 --cache cache r.recipe");
  INFO(run.out);
  REQUIRE(run.code == 0);
  CHECK(fs::is_symlink(s.dir / "out.pt"));
  CHECK(fs::is_regular_file(s.dir / "real.pt"));
  // An export that cannot be delivered names its recipe line.
  s.write("bad.recipe",
          "recipe small\ndata synthetic size: 128\nmodel small_cnn width: 4\ntrain 1 epoch batch: 64\nexport "
          "\"r.recipe/x.pt\"\n");
  const Result bad =
      run_whittle_cmd("cd " + s.dir.string() + " && " + bin() + " run --threads 1 --cache cache bad.recipe");
  INFO(bad.out);
  CHECK(bad.code != 0);
  CHECK(bad.out.find("bad.recipe:5") != std::string::npos);
  // `--stage ''` names no stage: refused, not "everything".
  const Result empty = run_whittle_cmd("cd " + s.dir.string() + " && " + bin() +
                                       " cache pack --cache cache r.recipe --stage '' -o p.tar.zst");
  CHECK(empty.code == 2);
  CHECK(empty.out.find("`--stage ''` names no stage") != std::string::npos);
  CHECK_FALSE(fs::exists(s.dir / "p.tar.zst"));
}
