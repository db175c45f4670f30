// Packing a recipe's cache entries into one archive (cache_pack.h); the format: cache_pack_format.h.
#include "runtime/packs/cache_pack.h"
#include "runtime/system/clock.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>

#include "lang/files.h"
#include "runtime/packs/cache_pack_format.h"
#include "runtime/plan/record.h"
#include "runtime/system/atomic_file.h"
#include "runtime/system/sha256.h"

namespace whittle::runtime {
namespace fs = std::filesystem;
using namespace pack;

namespace {

/// Where libarchive writes the pack: whittle's atomic file, errors kept for the caller.
struct Sink {
  AtomicFile* file;
  std::string error;
};

la_ssize_t sink_write(archive*, void* data, const void* buf, size_t n) {
  auto* s = static_cast<Sink*>(data);
  try {
    s->file->write(buf, n);
    return static_cast<la_ssize_t>(n);
  } catch (const std::exception& e) {
    s->error = e.what();
    return -1;
  }
}

class PackWriter {
 public:
  PackWriter(const std::string& out, Sink& sink) : a_(archive_write_new()), sink_(sink), out_(out) {
    if (archive_write_add_filter_zstd(a_) < ARCHIVE_WARN) archive_write_add_filter_gzip(a_);
    archive_write_set_format_pax_restricted(a_);
    archive_write_set_bytes_in_last_block(a_, 1);  // no zeros after the compressed stream: `tar --zstd` reads it too
    if (archive_write_open(a_, &sink_, nullptr, sink_write, nullptr) != ARCHIVE_OK) fail("cannot start the archive");
  }
  ~PackWriter() { archive_write_free(a_); }

  /// Starts an archive entry of `size` bytes; then `data` feeds it.
  void begin(const std::string& path, std::uint64_t size) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(size));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, 0, 0);
    const int r = archive_write_header(a_, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK) fail("cannot write the archive");
  }
  void data(const void* p, std::size_t n) {
    if (archive_write_data(a_, p, n) != static_cast<la_ssize_t>(n)) fail("cannot write the archive");
  }
  /// A file from disk, checked against the SHA-256 it was listed with as it is read.
  void file(const std::string& path, const std::string& disk, const EntryFile& f) {
    begin(path, f.size);
    std::unique_ptr<std::FILE, decltype(&std::fclose)> in(std::fopen(disk.c_str(), "rb"), &std::fclose);
    if (!in) throw PackError(fmt::format("cannot read `{}`", disk));
    Sha256 h;
    std::vector<char> buf(kBlock);
    std::uint64_t total = 0;
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), in.get())) > 0 && total + n <= f.size) {
      h.update(buf.data(), n);
      data(buf.data(), n);
      total += n;
    }
    if (std::ferror(in.get()) || total != f.size || h.hex() != f.sha256)
      throw PackError(fmt::format("`{}` changed while it was packed; nothing was written", disk));
  }
  void close() {
    if (archive_write_close(a_) != ARCHIVE_OK) fail("cannot finish the archive");
  }

 private:
  [[noreturn]] void fail(const char* what) {
    throw PackError(
        fmt::format("{} `{}`: {}", what, out_, sink_.error.empty() ? archive_error(a_, "write failed") : sink_.error));
  }
  archive* a_;
  Sink& sink_;
  std::string out_;
};

/// The regular files of a folder, sorted, with their sizes and checksums.
std::vector<EntryFile> listed_files(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {};  // gone: a stage that finished since pack_contents looked
  try {
    return folder_files(dir);
  } catch (const StoreError& e) {
    throw PackError(e.what());
  }
}

/// An entry's files as its manifest lists them (pack_contents verified them), and the manifest itself.
std::vector<EntryFile> entry_files(const std::string& dir) {
  const std::string path = (fs::path(dir) / "manifest.yaml").string();
  std::string why;
  auto m = read_manifest(path, &why);
  auto sum = sha256_file(path);
  std::error_code ec;
  if (!m || !sum)
    throw PackError(
        fmt::format("the entry {} cannot be packed: {}", dir, why.empty() ? "its manifest cannot be read" : why));
  m->files.push_back({"manifest.yaml", static_cast<std::uint64_t>(fs::file_size(path, ec)), *sum});
  return m->files;
}

}  // namespace

PackContents pack_contents(const Plan& p, const ArtifactStore& store, const std::vector<int>& stages) {
  PackContents c;
  c.recipe = p.analysis->recipe.name;
  std::set<int> want;
  std::vector<int> todo = stages;
  if (stages.empty())
    for (const auto& step : p.steps) todo.push_back(step.stage);
  while (!todo.empty()) {
    const int id = todo.back();
    todo.pop_back();
    if (!want.insert(id).second) continue;
    for (const auto& [kind, from] : p.graph.inputs(id)) todo.push_back(from);
  }
  std::set<std::string> seen;
  for (const auto& step : p.steps) {
    if (!want.count(step.stage) || !seen.insert(step.key).second) continue;
    const std::string label = fmt::format("{} ({})", stage_name(p, step.stage), where_written(p, step.stage));
    std::string why;
    std::error_code ec;
    if (store.has(step.key)) {
      if (store.verify(step.key, why))
        c.items.push_back({step.key, label, false});
      else
        c.corrupt.push_back(label + ": " + why);
    } else if (fs::is_directory(store.partial_path(step.key), ec) && !fs::is_empty(store.partial_path(step.key), ec)) {
      c.items.push_back({step.key, label, true});
    } else {
      c.missing.push_back(label);
    }
  }
  std::error_code ec;
  if (fs::is_regular_file(p.record_path, ec)) c.record = p.record_path;
  return c;
}

PackStats write_pack(ArtifactStore& store, const PackContents& c, const std::string& out) {
  if (const std::string kind = lang::non_regular_kind(out); !kind.empty())
    throw PackError(fmt::format("`{}` is {}: whittle writes a pack only to a regular file", out, kind));
  const ArtifactStore::Lock in_use = store.use_lock(false);
  PackStats stats;
  PackList list;
  list.whittle_version = WHITTLE_VERSION;
  list.created = now_iso();
  list.recipe = c.recipe;
  std::vector<ArtifactStore::Lock> held;  // checkpoints stay as they are while they are packed
  std::vector<std::string> dirs;
  for (const auto& it : c.items) {
    PackList::Item pi{it.key, it.label, it.partial, {}};
    if (it.partial) {
      auto l = store.try_lock(it.key);
      if (!l.held()) {
        stats.busy.push_back(it.label);
        continue;
      }
      held.push_back(std::move(l));
    }
    dirs.push_back(it.partial ? store.partial_path(it.key) : store.entry_dir(it.key));
    pi.files = it.partial ? listed_files(dirs.back()) : entry_files(dirs.back());
    if (pi.files.empty()) {  // the stage finished (and dropped them) since pack_contents looked
      dirs.pop_back();
      continue;
    }
    (it.partial ? stats.partials : stats.entries) += 1;
    for (const auto& f : pi.files) stats.bytes += f.size;
    list.items.push_back(std::move(pi));
  }
  if (!c.record.empty()) {
    auto files = listed_files(fs::path(c.record).parent_path().string());
    for (const auto& f : files)
      if (f.name == fs::path(c.record).filename().string()) list.record = f;
  }
  AtomicFile file(out, stats.bytes);
  Sink sink{&file, {}};
  PackWriter w(out, sink);
  const std::string text = list_text(list);
  w.begin(kListName, text.size());
  w.data(text.data(), text.size());
  for (std::size_t i = 0; i < list.items.size(); ++i)
    for (const auto& f : list.items[i].files)
      w.file(archive_path(list.items[i], f), (fs::path(dirs[i]) / f.name).string(), f);
  if (list.record) w.file("runs/" + list.record->name, c.record, *list.record);
  w.close();
  file.commit();
  return stats;
}

}  // namespace whittle::runtime
