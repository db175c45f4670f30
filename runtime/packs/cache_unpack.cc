// Unpacking a cache pack into a cache, every entry checked on the way in (cache_pack.h).
#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "lang/files.h"
#include "runtime/packs/cache_pack.h"
#include "runtime/packs/cache_pack_format.h"
#include "runtime/plan/record.h"
#include "runtime/system/atomic_file.h"
#include "runtime/system/safetensors.h"
#include "runtime/system/sha256.h"

namespace whittle::runtime {
namespace fs = std::filesystem;
using namespace pack;

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
/// A tensor file is checked as it streams (safetensors::StreamCheck): one whose header does not
/// describe its size is refused before its data is written.
std::string receive(archive* a, const std::string& path, const EntryFile& f, std::string& stream_error) {
  AtomicFile out(path, f.size);
  Sha256 h;
  std::optional<safetensors::StreamCheck> tensors;
  if (is_tensor_file(f.name)) tensors.emplace(f.size);
  std::vector<char> buf(kBlock);
  std::uint64_t total = 0;
  la_ssize_t n;
  while ((n = archive_read_data(a, buf.data(), buf.size())) > 0) {
    total += static_cast<std::uint64_t>(n);
    if (total > f.size) break;
    if (tensors) {
      if (const std::string why = tensors->feed(buf.data(), static_cast<std::size_t>(n)); !why.empty())
        return fmt::format("`{}` is no tensor file: {}", f.name, why);
    }
    h.update(buf.data(), static_cast<std::size_t>(n));
    out.write(buf.data(), static_cast<std::size_t>(n));
  }
  if (n < 0) {
    stream_error = archive_error(a, "unreadable");
    return fmt::format("the pack is damaged in `{}`: {}", f.name, stream_error);
  }
  if (total != f.size || h.hex() != f.sha256) return fmt::format("`{}` does not match its checksum", f.name);
  if (tensors) {
    if (const std::string why = tensors->finish(); !why.empty())
      return fmt::format("`{}` is no tensor file: {}", f.name, why);
  }
  out.commit();
  return "";
}

/// Whether a file starts as a compressed stream or a tar does (zstd, gzip, xz, bzip2; `ustar`): one
/// that libarchive cannot open is then a damaged or cut archive, not some other file.
bool looks_compressed(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::string head(512, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  for (const std::string magic : {std::string("\x28\xb5\x2f\xfd", 4), std::string("\x1f\x8b", 2),
                                  std::string("\xfd"
                                              "7zXZ",
                                              5),
                                  std::string("BZh")})
    if (head.compare(0, magic.size(), magic) == 0) return true;
  return head.size() >= 262 && head.compare(257, 5, "ustar") == 0;
}

}  // namespace

UnpackOutcome read_pack(ArtifactStore& store, const std::string& file) {
  if (const std::string kind = lang::non_regular_kind(file); !kind.empty())
    throw PackError(fmt::format("`{}` is {}, not a pack", file, kind));
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), &archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), file.c_str(), kBlock) != ARCHIVE_OK)
    throw PackError(fmt::format(looks_compressed(file) ? "`{}` is damaged or cut short: {}; nothing was added"
                                                       : "`{}` is not a whittle cache pack: {}",
                                file, archive_error(a.get(), "unreadable")));
  archive_entry* e = nullptr;
  if (const int r = archive_read_next_header(a.get(), &e); r != ARCHIVE_OK)
    throw PackError(fmt::format("`{}` is damaged or cut short before the end of its list: {}; nothing was added", file,
                                archive_error(a.get(), "unreadable")));
  if (archive_entry_pathname(e) != std::string(kListName) || archive_entry_filetype(e) != AE_IFREG ||
      archive_entry_size(e) > static_cast<la_int64_t>(kMaxList))
    throw PackError(
        fmt::format("`{}` is not a whittle cache pack (it does not start with its list, {})", file, kListName));
  std::string text(static_cast<std::size_t>(archive_entry_size(e)), '\0');
  if (archive_read_data(a.get(), text.data(), text.size()) != static_cast<la_ssize_t>(text.size()))
    throw PackError(
        fmt::format("`{}` is damaged: its list cannot be read ({})", file, archive_error(a.get(), "short")));
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
    for (std::size_t f = 0; f < it.files.size(); ++f)
      expected[archive_path(it, it.files[f])] = {static_cast<int>(i), f};
    if (store.has(it.key)) {
      arrivals[i].state = it.partial ? Arrival::State::Skipped : Arrival::State::Present;
      if (it.partial)
        out.skipped.push_back({it.label, "this cache has its finished entry"});
      else
        out.present.push_back(it.label);
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
      stream_error = fmt::format("it holds `{}`, which its list does not name (or names once)",
                                 lang::printable(name.substr(0, 120)));
      break;
    }
    const auto [item, fi] = at->second;
    const EntryFile& f = item < 0 ? *list.record : list.items[static_cast<std::size_t>(item)].files[fi];
    const bool wanted = item < 0 || arrivals[static_cast<std::size_t>(item)].state == Arrival::State::Pending;
    if (!wanted) continue;  // libarchive skips the data of an entry not read
    if (archive_entry_size(e) != static_cast<la_int64_t>(f.size)) {
      if (item >= 0)
        refuse(static_cast<std::size_t>(item), fmt::format("`{}` has {} bytes in the archive, its list says {}", f.name,
                                                           archive_entry_size(e), f.size));
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
        if (ar.tmp.empty())
          cleanup.dirs.push_back(ar.tmp = store.make_temp_dir(list.items[static_cast<std::size_t>(item)].key));
        why = receive(a.get(), (fs::path(ar.tmp) / f.name).string(), f, stream_error);
        if (why.empty())
          ar.got[fi] = true;
        else
          refuse(static_cast<std::size_t>(item), why);
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
      const std::string fname = it.files.empty()
                                    ? "its files"
                                    : "`" + it.files[static_cast<std::size_t>(missing - ar.got.begin())].name + "`";
      refuse(i, stream_error.empty() ? fmt::format("{} is not in the pack", fname)
                                     : fmt::format("the pack ends before {} ({})", fname, stream_error));
      continue;
    }
    std::string why;
    if (!it.partial) {
      if (!entry_consistent(ar.tmp, it, why))
        refuse(i, why);
      else
        (store.install(ar.tmp, it.key) ? out.installed : out.present).push_back(it.label);
      continue;
    }
    const auto lock = store.try_lock(it.key);
    if (!lock.held())
      out.skipped.push_back({it.label, "a whittle run is computing this stage now"});
    else if (!store.install_partial(ar.tmp, it.key))
      out.skipped.push_back({it.label, "this cache has checkpoints or an entry of its own"});
    else
      out.partials.push_back(it.label);
  }
  if (list.record && out.record.empty()) {
    const fs::path dest = fs::path(store.root()) / "runs" / list.record->name;
    const auto packed =
        record_tmp.empty() ? std::nullopt : read_record((fs::path(record_tmp) / list.record->name).string());
    const auto local = read_record(dest.string());
    if (!packed)
      out.record = stream_error.empty() ? "refused: it is no run record" : "not in the pack (" + stream_error + ")";
    else if (local && local->finished >= packed->finished)
      out.record = "kept this cache's run record runs/" + list.record->name + ", which is newer";
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
