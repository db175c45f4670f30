// Cache packs (runtime/packs/cache_pack.h): entries carried from one cache to another, checked on the way in.
#include <archive.h>
#include <archive_entry.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "runtime/packs/cache_pack.h"
#include "runtime/plan/record.h"
#include "runtime/system/safetensors.h"
#include "runtime/system/sha256.h"
#include "tests/runtime/fake_runner.h"

namespace fs = std::filesystem;
using namespace whittle;
using namespace whittle::runtime;
using test::Fixture;

namespace {

const std::string recipe =
    "recipe packed\ndata synthetic\nmodel small_cnn\ntrain 3 epochs as base\nprune 50% global\nretrain 1 "
    "epoch\nevaluate\n";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// A safetensors file of one tensor of `n` bytes.
std::string tensor_file(std::size_t n) {
  safetensors::Writer w;
  const std::string data(n, 'w');
  w.add("w", safetensors::DType::U8, {static_cast<std::int64_t>(n)}, data.data(), n);
  return w.bytes();
}

/// The entries of an archive, in order.
std::vector<std::pair<std::string, std::string>> entries_of(const std::string& file) {
  std::vector<std::pair<std::string, std::string>> out;
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  REQUIRE(archive_read_open_filename(a, file.c_str(), 1 << 16) == ARCHIVE_OK);
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string bytes(static_cast<std::size_t>(archive_entry_size(e)), '\0');
    archive_read_data(a, bytes.data(), bytes.size());
    out.emplace_back(archive_entry_pathname(e), bytes);
  }
  archive_read_free(a);
  return out;
}

/// Writes entries as a plain tar.
void write_tar(const std::string& file, const std::vector<std::pair<std::string, std::string>>& entries) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  REQUIRE(archive_write_open_filename(a, file.c_str()) == ARCHIVE_OK);
  for (const auto& [name, bytes] : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(bytes.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, bytes.data(), bytes.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

/// Two caches under one folder: `from` has run the recipe, `to` is empty.
struct TwoCaches {
  Fixture f;
  std::string file = f.write("r.recipe", recipe);
  std::string pack = (f.dir / "r.pack.tar.zst").string();
  std::unique_ptr<Plan> plan;
  TwoCaches() {
    f.run(file);
    plan = f.plan(file);  // leaves f.store on "cache"
  }
  PackStats write(const std::vector<int>& stages = {}) {
    return write_pack(*f.store, pack_contents(*plan, *f.store, stages), pack);
  }
  /// The second cache, and what planning the recipe against it finds.
  ArtifactStore& to() {
    if (!dest) dest = std::make_unique<ArtifactStore>((f.dir / "other").string());
    return *dest;
  }
  std::size_t stale_in_other() { return make_plan(lang::analyze_file(file), to())->stale_count(); }
  std::size_t tmp_leftovers() {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(f.dir / "other" / "tmp"), fs::directory_iterator()));
  }
  std::unique_ptr<ArtifactStore> dest;
};

}  // namespace

TEST_CASE("a pack carries every entry of a run to another cache, where nothing is stale", "[pack]") {
  TwoCaches t;
  const PackStats st = t.write();
  CHECK(st.entries == 6);
  CHECK(st.partials == 0);
  CHECK(t.stale_in_other() == 6);
  const UnpackOutcome r = read_pack(t.to(), t.pack);
  CHECK(r.installed.size() == 6);
  CHECK(r.refused.empty());
  CHECK(r.recipe == "packed");
  CHECK(r.record.find("put in place") != std::string::npos);
  CHECK(t.stale_in_other() == 0);
  std::size_t n = 0;
  CHECK(t.to().audit(n).empty());
  CHECK(n == 6);
  CHECK(fs::exists(fs::path(t.to().root()) / "runs" / "packed.yaml"));
  CHECK(t.tmp_leftovers() == 0);
  // Again: everything is there already, and the cache's own record is as new.
  const UnpackOutcome again = read_pack(t.to(), t.pack);
  CHECK(again.installed.empty());
  CHECK(again.present.size() == 6);
  CHECK(again.record.find("kept") != std::string::npos);
}

TEST_CASE("a pack of one stage holds that stage and what it needs, and only that", "[pack]") {
  TwoCaches t;
  int base = -1;
  for (const auto& s : t.plan->analysis->recipe.stages)
    if (s.as_name == "base") base = s.id;
  REQUIRE(base >= 0);
  CHECK(t.write({base}).entries == 3);  // data, model, train
  CHECK(read_pack(t.to(), t.pack).installed.size() == 3);
  CHECK(t.stale_in_other() == 3);
}

TEST_CASE("a pack carries the epoch checkpoints of a stage not finished, and a stage finished here keeps its entry",
          "[pack]") {
  TwoCaches t;
  // As a killed run leaves them: the last stage's entry gone, its epoch checkpoints kept.
  const std::string key = t.plan->steps.back().key;
  const std::string part = t.f.store->partial_dir(key);
  std::ofstream(fs::path(part) / "state-1.json") << "{\"epoch\": 1}\n";
  std::ofstream(fs::path(part) / "epoch-1.safetensors") << tensor_file(3000);
  remove_tree(t.f.store->entry_dir(key));
  const PackStats st = t.write();
  CHECK(st.entries == 5);
  CHECK(st.partials == 1);
  UnpackOutcome r = read_pack(t.to(), t.pack);
  CHECK(r.partials.size() == 1);
  CHECK(slurp(fs::path(t.to().partial_path(key)) / "epoch-1.safetensors") == tensor_file(3000));
  // A second cache whose stage has its entry already does not take checkpoints for it.
  Fixture g;
  g.run(g.write("r.recipe", recipe));
  r = read_pack(*g.store, t.pack);
  CHECK(r.partials.empty());
  REQUIRE(r.skipped.size() == 1);
  CHECK(r.skipped[0].second.find("finished entry") != std::string::npos);
  CHECK_FALSE(fs::exists(g.store->partial_path(key)));
}

TEST_CASE("a damaged entry in a pack is refused by name, the others go in, nothing half-written", "[pack]") {
  TwoCaches t;
  t.write();
  auto entries = entries_of(t.pack);
  std::string damaged;
  for (auto& [name, bytes] : entries)
    if (damaged.empty() && name.find("/model.pt") != std::string::npos) {
      bytes[bytes.size() / 2] ^= 1;
      damaged = name.substr(8, 64);  // objects/<key>/model.pt
    }
  REQUIRE_FALSE(damaged.empty());
  const std::string bad = (t.f.dir / "bad.tar").string();
  write_tar(bad, entries);
  const UnpackOutcome r = read_pack(t.to(), bad);
  REQUIRE(r.refused.size() == 1);
  CHECK(r.refused[0].first.rfind("#0 data", 0) == 0);
  CHECK(r.refused[0].second == "`model.pt` does not match its checksum");
  CHECK(r.installed.size() == 5);
  CHECK_FALSE(t.to().has(damaged));
  CHECK(t.tmp_leftovers() == 0);
  std::size_t n = 0;
  CHECK(t.to().audit(n).empty());
}

TEST_CASE("a cut pack adds the entries that arrived whole and names those it cut", "[pack]") {
  TwoCaches t;
  t.write();
  const std::string plain = (t.f.dir / "plain.tar").string(), cut = (t.f.dir / "cut.tar").string();
  write_tar(plain, entries_of(t.pack));
  const std::string whole = slurp(plain);
  // Cut inside the fourth stage's model.pt (the fake runner's "weights of KEY").
  const auto at = whole.find("weights of " + t.plan->steps[3].key);
  REQUIRE(at != std::string::npos);
  std::ofstream(cut, std::ios::binary) << whole.substr(0, at + 5);
  const UnpackOutcome r = read_pack(t.to(), cut);
  CHECK(r.installed.size() == 3);
  REQUIRE(r.refused.size() == 3);
  CHECK(r.refused.back().second.find("the pack ends before `model.pt`") != std::string::npos);
  std::size_t n = 0;
  CHECK(t.to().audit(n).empty());
  CHECK(n == 3);
  CHECK(t.tmp_leftovers() == 0);
  // The whole pack afterwards fills in the rest.
  CHECK(read_pack(t.to(), t.pack).installed.size() == 3);
  CHECK(t.stale_in_other() == 0);
}

TEST_CASE("a compressed pack cut anywhere leaves only whole, verified entries", "[pack]") {
  TwoCaches t;
  t.write();
  const std::string whole = slurp(t.pack), cut = (t.f.dir / "cut.tar.zst").string();
  for (int tenth = 1; tenth < 10; ++tenth) {
    t.dest.reset();
    remove_tree((t.f.dir / "other").string());
    std::ofstream(cut, std::ios::binary) << whole.substr(0, whole.size() * tenth / 10);
    try {
      const UnpackOutcome r = read_pack(t.to(), cut);
      CHECK(r.installed.size() + r.refused.size() == 6);
    } catch (const PackError&) {  // cut inside its list
    }
    std::size_t n = 0;
    CHECK(t.to().audit(n).empty());
    CHECK(t.tmp_leftovers() == 0);
  }
}

TEST_CASE("what is no pack, or a pack whose list was edited, adds nothing", "[pack]") {
  TwoCaches t;
  t.write();
  auto entries = entries_of(t.pack);
  const std::string bad = (t.f.dir / "bad.tar").string();
  auto refused = [&](const std::string& file) {
    try {
      read_pack(t.to(), file);
    } catch (const PackError& e) {
      CHECK(t.stale_in_other() == 6);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  SECTION("an edited list") {
    auto edited = entries;
    const auto at = edited[0].second.find("#1 model");
    REQUIRE(at != std::string::npos);
    edited[0].second[at + 1] = '9';
    write_tar(bad, edited);
    CHECK(refused(bad).find("its list does not match its checksum") != std::string::npos);
  }
  SECTION("a list of another cache format, resealed") {
    auto edited = entries;
    std::string why;
    std::string body = *unsealed(edited[0].second, why);
    body.replace(body.find("cache_format: 3"), 15, "cache_format: 2");
    edited[0].second = sealed(body);
    write_tar(bad, edited);
    CHECK(refused(bad).find("whittle-cache 2") != std::string::npos);
  }
  SECTION("a tar without a list") {
    write_tar(bad, {entries.begin() + 1, entries.end()});
    CHECK(refused(bad).find("is not a whittle cache pack") != std::string::npos);
  }
  SECTION("not an archive") {
    std::ofstream(bad) << "hello\n";
    CHECK(refused(bad).find("is not a whittle cache pack") != std::string::npos);
  }
  SECTION("an entry the list does not name stops the reading; nothing lands outside the cache") {
    auto edited = entries;
    edited.insert(edited.begin() + 1, {"../../escaped", "x"});
    write_tar(bad, edited);
    const UnpackOutcome r = read_pack(t.to(), bad);
    CHECK(r.installed.empty());
    REQUIRE(r.refused.size() == 6);
    CHECK(r.refused[0].second.find("which its list does not name") != std::string::npos);
    CHECK_FALSE(fs::exists(t.f.dir / "escaped"));
    CHECK(t.tmp_leftovers() == 0);
  }
}

TEST_CASE("hostile packs: checkpoints that are no checkpoints, terminal escapes, a cut list, an older record",
          "[pack][hostile]") {
  TwoCaches t;
  const std::string key = t.plan->steps.back().key;
  const std::string part = t.f.store->partial_dir(key);
  remove_tree(t.f.store->entry_dir(key));
  std::ofstream(fs::path(part) / "state-1.json") << "{\"epoch\": 1}\n";
  SECTION("a checkpoint of 64 MiB of zeros (a bomb: it packs to a few KB) is refused at its first bytes") {
    { std::ofstream zeros(fs::path(part) / "epoch-1.safetensors"); }
    fs::resize_file(fs::path(part) / "epoch-1.safetensors", 64u << 20);
    t.write();
    CHECK(fs::file_size(t.pack) < (1u << 20));
    const UnpackOutcome r = read_pack(t.to(), t.pack);
    CHECK(r.partials.empty());
    REQUIRE(r.refused.size() == 1);
    CHECK(r.refused[0].second.find("`epoch-1.safetensors` is no tensor file: its header is not a JSON object") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(t.to().partial_path(key)));
    CHECK(t.tmp_leftovers() == 0);
  }
  SECTION("a file no folder of checkpoints holds is refused with the whole list") {
    std::ofstream(fs::path(part) / "payload.bin") << "x";
    t.write();
    try {
      read_pack(t.to(), t.pack);
      FAIL("accepted");
    } catch (const PackError& e) {
      CHECK(std::string(e.what()).find("its list has `payload.bin` among the epoch checkpoints") != std::string::npos);
    }
    CHECK_FALSE(fs::exists(t.to().partial_path(key)));
  }
  SECTION("labels with terminal escapes are shown escaped") {
    std::ofstream(fs::path(part) / "epoch-1.safetensors") << tensor_file(100);
    t.write();
    auto entries = entries_of(t.pack);
    std::string why;
    std::string body = *unsealed(entries[0].second, why);
    const auto at = body.find("recipe: packed");
    REQUIRE(at != std::string::npos);
    body.replace(at, 14, "recipe: \"\\e[2J\\e[1Aerror: fake\"");
    entries[0].second = sealed(body);
    const std::string bad = (t.f.dir / "esc.tar").string();
    write_tar(bad, entries);
    const UnpackOutcome r = read_pack(t.to(), bad);
    CHECK(r.recipe == "\\x1b[2J\\x1b[1Aerror: fake");
    CHECK(r.recipe.find('\x1b') == std::string::npos);
  }
  SECTION("a pack cut inside its list is called damaged, not foreign") {
    t.write();
    const std::string cut = (t.f.dir / "cut.tar.zst").string();
    fs::copy_file(t.pack, cut);
    fs::resize_file(cut, 200);
    try {
      read_pack(t.to(), cut);
      FAIL("accepted");
    } catch (const PackError& e) {
      const std::string what = e.what();
      INFO(what);
      CHECK(what.find("damaged or cut short") != std::string::npos);
      CHECK(what.find("is not a whittle cache pack") == std::string::npos);
    }
  }
  SECTION("the run record goes in only where it is newer than this cache's") {
    std::ofstream(fs::path(part) / "epoch-1.safetensors") << tensor_file(100);
    const fs::path ours = fs::path(t.to().root()) / "runs" / "packed.yaml";
    std::string record = slurp(fs::path(t.f.store->root()) / "runs" / "packed.yaml");
    const auto at = record.find("finished: ");
    REQUIRE(at != std::string::npos);
    const auto end = record.find('\n', at);
    // The packed record finished in 2500; this cache's own one in 2999 (newer: kept), then in 1999 (older: replaced).
    auto with_finished = [&](const std::string& text, const std::string& when) {
      std::string out = text;
      out.replace(at, end - at, "finished: " + when);
      return out;
    };
    std::ofstream(fs::path(t.f.store->root()) / "runs" / "packed.yaml")
        << with_finished(record, "2500-01-01T00:00:00Z");
    t.write();
    std::ofstream(ours) << with_finished(record, "2999-01-01T00:00:00Z");
    REQUIRE(read_record(ours.string()));
    const UnpackOutcome r = read_pack(t.to(), t.pack);
    INFO(r.record);
    CHECK(r.record.find("which is newer") != std::string::npos);
    std::ofstream(ours) << with_finished(record, "1999-01-01T00:00:00Z");
    const UnpackOutcome again = read_pack(t.to(), t.pack);
    CHECK(again.record.find("put in place") != std::string::npos);
  }
}

TEST_CASE("an entry that changes while it is packed leaves no pack", "[pack]") {
  TwoCaches t;
  const auto contents = pack_contents(*t.plan, *t.f.store, {});
  std::ofstream(fs::path(t.f.store->entry_dir(contents.items[2].key)) / "model.pt", std::ios::app) << "more";
  CHECK_THROWS_AS(write_pack(*t.f.store, contents, t.pack), PackError);
  CHECK_FALSE(fs::exists(t.pack));
  // pack_contents itself leaves out an entry that fails its checksums, and says so.
  const auto again = pack_contents(*t.plan, *t.f.store, {});
  CHECK(again.items.size() == 5);
  REQUIRE(again.corrupt.size() == 1);
  CHECK(again.corrupt[0].find("model.pt") != std::string::npos);
}
