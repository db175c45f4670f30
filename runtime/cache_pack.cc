// Packing cache entries into one archive and unpacking them into another cache (cache_pack.h).
#include "runtime/cache_pack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "lang/files.h"
#include "runtime/atomic_file.h"
#include "runtime/record.h"
#include "runtime/sha256.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

constexpr const char* kListName = "whittle-pack.yaml";
constexpr std::uint64_t kMaxList = 64u << 20, kMaxRecord = 64u << 20;
constexpr std::size_t kBlock = 1 << 20;

/// The pack's list: what every archive entry must be.
struct PackList {
  int format = kPackFormat, cache_format = kCacheFormat;
  std::string whittle_version, created, recipe;
  struct Item {
    std::string key, label;
    bool partial = false;
    std::vector<EntryFile> files;
  };
  std::vector<Item> items;
  std::optional<EntryFile> record;
};

std::string archive_path(const PackList::Item& it, const EntryFile& f) {
  return fmt::format("{}/{}/{}", it.partial ? "partial" : "objects", it.key, f.name);
}

bool plain_name(const std::string& n) { return !n.empty() && n.size() <= 255 && n.find('/') == std::string::npos && n != "." && n != ".."; }

bool valid_key(const std::string& k) {
  return k.size() == 64 && std::all_of(k.begin(), k.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void emit_file(YAML::Emitter& out, const EntryFile& f) {
  out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << f.name << YAML::Key << "size" << YAML::Value << f.size
      << YAML::Key << "sha256" << YAML::Value << f.sha256 << YAML::EndMap;
}

std::string list_text(const PackList& l) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "format" << YAML::Value << l.format << YAML::Key << "cache_format" << YAML::Value << l.cache_format
      << YAML::Key << "whittle_version" << YAML::Value << l.whittle_version << YAML::Key << "created" << YAML::Value << l.created
      << YAML::Key << "recipe" << YAML::Value << l.recipe << YAML::Key << "items" << YAML::Value << YAML::BeginSeq;
  for (const auto& it : l.items) {
    out << YAML::BeginMap << YAML::Key << "key" << YAML::Value << it.key << YAML::Key << "label" << YAML::Value << it.label << YAML::Key
        << "partial" << YAML::Value << it.partial << YAML::Key << "files" << YAML::Value << YAML::BeginSeq;
    for (const auto& f : it.files) emit_file(out, f);
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndSeq;
  if (l.record) {
    out << YAML::Key << "record" << YAML::Value;
    emit_file(out, *l.record);
  }
  out << YAML::EndMap;
  return sealed(std::string(out.c_str()) + "\n");
}

EntryFile read_file_row(const YAML::Node& n) {
  EntryFile f{n["name"].as<std::string>(), n["size"].as<std::uint64_t>(), n["sha256"].as<std::string>()};
  if (!plain_name(f.name)) throw PackError(fmt::format("its list names a file `{}` outside its entry", f.name));
  return f;
}

PackList parse_list(const std::string& text) {
  std::string why;
  const auto body = unsealed(text, why);
  if (!body) throw PackError("its list " + why);
  PackList l;
  try {
    const YAML::Node n = YAML::Load(*body);
    l.format = n["format"].as<int>();
    if (l.format != kPackFormat) throw PackError(fmt::format("it is a pack of format {}, and this whittle reads format {}", l.format, kPackFormat));
    l.cache_format = n["cache_format"].as<int>();
    if (l.cache_format != kCacheFormat)
      throw PackError(fmt::format("its entries are of whittle-cache {} and this whittle's cache is whittle-cache {}: they cannot be reused; "
                                  "pack them again with this version of whittle",
                                  l.cache_format, kCacheFormat));
    l.whittle_version = n["whittle_version"].as<std::string>();
    l.created = n["created"].as<std::string>();
    l.recipe = n["recipe"].as<std::string>();
    std::set<std::string> keys;
    for (const auto& i : n["items"]) {
      PackList::Item it{i["key"].as<std::string>(), i["label"].as<std::string>(), i["partial"].as<bool>(), {}};
      if (!valid_key(it.key)) throw PackError(fmt::format("its list has `{}` where a key belongs", it.key.substr(0, 80)));
      if (!keys.insert(it.key).second) throw PackError(fmt::format("its list names the entry {} twice", it.key.substr(0, 16)));
      std::set<std::string> names;
      for (const auto& f : i["files"]) {
        it.files.push_back(read_file_row(f));
        if (!names.insert(it.files.back().name).second) throw PackError(fmt::format("its list names `{}` twice", archive_path(it, it.files.back())));
      }
      l.items.push_back(std::move(it));
    }
    if (n["record"]) {
      l.record = read_file_row(n["record"]);
      if (fs::path(l.record->name).extension() != ".yaml" || l.record->size > kMaxRecord)
        throw PackError(fmt::format("its run record `{}` is no run record", l.record->name));
    }
  } catch (const YAML::Exception& e) {
    throw PackError(fmt::format("its list is malformed: {}", e.what()));
  }
  return l;
}

std::string archive_error(archive* a, const char* otherwise) { return archive_error_string(a) ? archive_error_string(a) : otherwise; }

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
    throw PackError(fmt::format("{} `{}`: {}", what, out_, sink_.error.empty() ? archive_error(a_, "write failed") : sink_.error));
  }
  archive* a_;
  Sink& sink_;
  std::string out_;
};

/// The regular files of a folder, sorted, with their sizes and checksums.
std::vector<EntryFile> folder_files(const std::string& dir) {
  std::vector<EntryFile> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec)) continue;
    auto sum = sha256_file(e.path().string());
    if (!sum) throw PackError(fmt::format("cannot read `{}`", e.path().string()));
    out.push_back({e.path().filename().string(), static_cast<std::uint64_t>(e.file_size(ec)), *sum});
  }
  std::sort(out.begin(), out.end(), [](const EntryFile& a, const EntryFile& b) { return a.name < b.name; });
  return out;
}

/// An entry's files as its manifest lists them (pack_contents verified them), and the manifest itself.
std::vector<EntryFile> entry_files(const std::string& dir) {
  const std::string path = (fs::path(dir) / "manifest.yaml").string();
  std::string why;
  auto m = read_manifest(path, &why);
  auto sum = sha256_file(path);
  std::error_code ec;
  if (!m || !sum) throw PackError(fmt::format("the entry {} cannot be packed: {}", dir, why.empty() ? "its manifest cannot be read" : why));
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
      if (store.verify(step.key, why)) c.items.push_back({step.key, label, false});
      else c.corrupt.push_back(label + ": " + why);
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
    pi.files = it.partial ? folder_files(dirs.back()) : entry_files(dirs.back());
    if (pi.files.empty()) {  // the stage finished (and dropped them) since pack_contents looked
      dirs.pop_back();
      continue;
    }
    (it.partial ? stats.partials : stats.entries) += 1;
    for (const auto& f : pi.files) stats.bytes += f.size;
    list.items.push_back(std::move(pi));
  }
  if (!c.record.empty()) {
    auto files = folder_files(fs::path(c.record).parent_path().string());
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
    for (const auto& f : list.items[i].files) w.file(archive_path(list.items[i], f), (fs::path(dirs[i]) / f.name).string(), f);
  if (list.record) w.file("runs/" + list.record->name, c.record, *list.record);
  w.close();
  file.commit();
  return stats;
}

namespace {

/// One item of a pack being read: where its files go and what has arrived.
struct Arrival {
  enum class State { Pending, Present, Skipped, Refused } state = State::Pending;
  std::string tmp;
  std::vector<bool> got;
};

/// Whether an unpacked entry's own manifest (sealed, of its key) names exactly the files the list does.
bool entry_consistent(const std::string& dir, const PackList::Item& it, std::string& why) {
  auto m = read_manifest((fs::path(dir) / "manifest.yaml").string(), &why);
  if (!m) return false;
  if (m->key != it.key) {
    why = fmt::format("its manifest is that of another entry ({})", m->key.substr(0, 16));
    return false;
  }
  std::map<std::string, EntryFile> listed;
  for (const auto& f : it.files)
    if (f.name != "manifest.yaml") listed[f.name] = f;
  bool same = listed.size() == m->files.size();
  for (const auto& f : m->files) {
    auto at = listed.find(f.name);
    same = same && at != listed.end() && at->second.size == f.size && at->second.sha256 == f.sha256;
  }
  if (!same) why = "its manifest and the pack's list name different files";
  return same;
}

/// Streams the current archive entry into `path`, checking it against `f`; "" or why it was refused.
std::string receive(archive* a, const std::string& path, const EntryFile& f, std::string& stream_error) {
  AtomicFile out(path, f.size);
  Sha256 h;
  std::vector<char> buf(kBlock);
  std::uint64_t total = 0;
  la_ssize_t n;
  while ((n = archive_read_data(a, buf.data(), buf.size())) > 0) {
    total += static_cast<std::uint64_t>(n);
    if (total > f.size) break;
    h.update(buf.data(), static_cast<std::size_t>(n));
    out.write(buf.data(), static_cast<std::size_t>(n));
  }
  if (n < 0) {
    stream_error = archive_error(a, "unreadable");
    return fmt::format("the pack is damaged in `{}`: {}", f.name, stream_error);
  }
  if (total != f.size || h.hex() != f.sha256) return fmt::format("`{}` does not match its checksum", f.name);
  out.commit();
  return "";
}

}  // namespace

UnpackOutcome read_pack(ArtifactStore& store, const std::string& file) {
  if (const std::string kind = lang::non_regular_kind(file); !kind.empty()) throw PackError(fmt::format("`{}` is {}, not a pack", file, kind));
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), &archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), file.c_str(), kBlock) != ARCHIVE_OK)
    throw PackError(fmt::format("`{}` is not a whittle cache pack: {}", file, archive_error(a.get(), "unreadable")));
  archive_entry* e = nullptr;
  if (archive_read_next_header(a.get(), &e) != ARCHIVE_OK || archive_entry_pathname(e) != std::string(kListName) ||
      archive_entry_filetype(e) != AE_IFREG || archive_entry_size(e) > static_cast<la_int64_t>(kMaxList))
    throw PackError(fmt::format("`{}` is not a whittle cache pack (it does not start with its list, {})", file, kListName));
  std::string text(static_cast<std::size_t>(archive_entry_size(e)), '\0');
  if (archive_read_data(a.get(), text.data(), text.size()) != static_cast<la_ssize_t>(text.size()))
    throw PackError(fmt::format("`{}` is damaged: its list cannot be read ({})", file, archive_error(a.get(), "short")));
  PackList list;
  try {
    list = parse_list(text);
  } catch (const PackError& err) {
    throw PackError(fmt::format("`{}` cannot be unpacked: {}; nothing was added", file, err.what()));
  }
  UnpackOutcome out{list.recipe, list.created, list.whittle_version, {}, {}, {}, {}, {}, {}};
  const ArtifactStore::Lock in_use = store.use_lock(false);
  // Every archive path the list allows: item index and file index (the record is item -1).
  std::map<std::string, std::pair<int, std::size_t>> expected;
  std::vector<Arrival> arrivals(list.items.size());
  for (std::size_t i = 0; i < list.items.size(); ++i) {
    const auto& it = list.items[i];
    arrivals[i].got.assign(it.files.size(), false);
    for (std::size_t f = 0; f < it.files.size(); ++f) expected[archive_path(it, it.files[f])] = {static_cast<int>(i), f};
    if (store.has(it.key)) {
      arrivals[i].state = it.partial ? Arrival::State::Skipped : Arrival::State::Present;
      if (it.partial) out.skipped.push_back({it.label, "this cache has its finished entry"});
      else out.present.push_back(it.label);
    }
  }
  if (list.record) expected["runs/" + list.record->name] = {-1, 0};
  struct Cleanup {  // whatever was not put in place goes
    std::vector<std::string> dirs;
    ~Cleanup() {
      for (const auto& d : dirs) remove_tree(d);
    }
  } cleanup;
  auto refuse = [&](std::size_t i, const std::string& why) {
    if (arrivals[i].state != Arrival::State::Pending) return;
    arrivals[i].state = Arrival::State::Refused;
    out.refused.push_back({list.items[i].label, why});
  };
  std::string stream_error, record_tmp;
  std::set<std::string> seen;
  for (;;) {
    const int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      stream_error = archive_error(a.get(), "unreadable");
      break;
    }
    const std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    const auto at = expected.find(name);
    if (at == expected.end() || !seen.insert(name).second || archive_entry_filetype(e) != AE_IFREG) {
      stream_error = fmt::format("it holds `{}`, which its list does not name (or names once)", name.substr(0, 120));
      break;
    }
    const auto [item, fi] = at->second;
    const EntryFile& f = item < 0 ? *list.record : list.items[static_cast<std::size_t>(item)].files[fi];
    const bool wanted = item < 0 || arrivals[static_cast<std::size_t>(item)].state == Arrival::State::Pending;
    if (!wanted) continue;  // libarchive skips the data of an entry not read
    if (archive_entry_size(e) != static_cast<la_int64_t>(f.size)) {
      if (item >= 0) refuse(static_cast<std::size_t>(item), fmt::format("`{}` has {} bytes in the archive, its list says {}", f.name, archive_entry_size(e), f.size));
      continue;
    }
    try {
      std::string why;
      if (item < 0) {
        record_tmp = store.make_temp_dir("record");
        cleanup.dirs.push_back(record_tmp);
        why = receive(a.get(), (fs::path(record_tmp) / f.name).string(), f, stream_error);
        if (!why.empty()) record_tmp.clear(), out.record = "refused: " + why;
      } else {
        Arrival& ar = arrivals[static_cast<std::size_t>(item)];
        if (ar.tmp.empty()) cleanup.dirs.push_back(ar.tmp = store.make_temp_dir(list.items[static_cast<std::size_t>(item)].key));
        why = receive(a.get(), (fs::path(ar.tmp) / f.name).string(), f, stream_error);
        if (why.empty()) ar.got[fi] = true;
        else refuse(static_cast<std::size_t>(item), why);
      }
    } catch (const WriteError& err) {  // a full disk: what is complete goes in, the rest is refused
      if (item >= 0) refuse(static_cast<std::size_t>(item), err.what());
      stream_error = err.what();
    }
    if (!stream_error.empty()) break;
  }
  // Put in place what arrived whole.
  for (std::size_t i = 0; i < list.items.size(); ++i) {
    const auto& it = list.items[i];
    Arrival& ar = arrivals[i];
    if (ar.state != Arrival::State::Pending) continue;
    const auto missing = std::find(ar.got.begin(), ar.got.end(), false);
    if (missing != ar.got.end() || it.files.empty()) {
      const std::string fname = it.files.empty() ? "its files" : "`" + it.files[static_cast<std::size_t>(missing - ar.got.begin())].name + "`";
      refuse(i, stream_error.empty() ? fmt::format("{} is not in the pack", fname)
                                     : fmt::format("the pack ends before {} ({})", fname, stream_error));
      continue;
    }
    std::string why;
    if (!it.partial) {
      if (!entry_consistent(ar.tmp, it, why)) refuse(i, why);
      else (store.install(ar.tmp, it.key) ? out.installed : out.present).push_back(it.label);
      continue;
    }
    const auto lock = store.try_lock(it.key);
    if (!lock.held()) out.skipped.push_back({it.label, "a whittle run is computing this stage now"});
    else if (!store.install_partial(ar.tmp, it.key)) out.skipped.push_back({it.label, "this cache has checkpoints or an entry of its own"});
    else out.partials.push_back(it.label);
  }
  if (list.record && out.record.empty()) {
    const fs::path dest = fs::path(store.root()) / "runs" / list.record->name;
    const auto packed = record_tmp.empty() ? std::nullopt : read_record((fs::path(record_tmp) / list.record->name).string());
    const auto local = read_record(dest.string());
    if (!packed) out.record = stream_error.empty() ? "refused: it is no run record" : "not in the pack (" + stream_error + ")";
    else if (local && local->finished >= packed->finished) out.record = "kept this cache's run record runs/" + list.record->name + ", which is newer";
    else {
      std::error_code ec;
      fs::rename(fs::path(record_tmp) / list.record->name, dest, ec);
      out.record = ec ? "not put in place: " + ec.message() : "put in place as runs/" + list.record->name;
      if (!ec) fsync_path(dest.parent_path().string(), true);
    }
  }
  return out;
}

}  // namespace whittle::runtime
