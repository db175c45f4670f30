// `whittle cache upgrade` (cache_upgrade.h).
#include "runtime/cache/cache_upgrade.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "lang/files.h"
#include "runtime/cache/store.h"
#include "runtime/system/atomic_file.h"
#include "runtime/system/sha256.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

const std::string kLegacy = ".pt";

bool is_legacy(const std::string& name) {
  return name.size() > kLegacy.size() && name.compare(name.size() - kLegacy.size(), kLegacy.size(), kLegacy) == 0;
}

/// epoch-3.optim.pt → epoch-3.optim.safetensors; model.pt → model.safetensors.
std::string upgraded_name(const std::string& name) {
  return name.substr(0, name.size() - kLegacy.size()) + ".safetensors";
}

/// A hard link where the file system allows one, else a copy.
void link_or_copy(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_hard_link(from, to, ec);
  if (ec) fs::copy_file(from, to);
}

/// Exchanges two folders in one rename: whoever looks sees the old one or the new one, whole.
void exchange(const fs::path& a, const fs::path& b) {
  if (::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) != 0)
    throw StoreError(fmt::format("cannot put the upgraded `{}` in place: {}", b.string(), std::strerror(errno)));
  fsync_path(b.parent_path().string(), true);
}

/// A fresh folder under tmp/ for the new version of `name`.
fs::path fresh(const fs::path& root, const std::string& name) {
  const fs::path p = root / "tmp" / ("upgrade-" + name);
  remove_tree(p.string());
  fs::create_directories(p);
  return p;
}

/// Converts one entry into a new folder and exchanges it with the old one; false when there was
/// nothing to convert.
bool upgrade_entry(const fs::path& root, const fs::path& dir, Manifest m, const ConvertFile& convert) {
  if (std::none_of(m.files.begin(), m.files.end(), [](const EntryFile& f) { return is_legacy(f.name); })) return false;
  const fs::path tmp = fresh(root, m.key);
  for (const auto& f : m.files) {
    if (is_legacy(f.name))
      convert((dir / f.name).string(), (tmp / upgraded_name(f.name)).string());
    else
      link_or_copy(dir / f.name, tmp / f.name);
  }
  m.files = folder_files(tmp.string());
  write_manifest((tmp / "manifest.yaml").string(), m);
  fsync_path(tmp.string(), true);
  exchange(tmp, dir);
  remove_tree(tmp.string());  // now the old entry
  return true;
}

/// The epoch checkpoints of an unfinished stage: every state file's checkpoints converted and the
/// state rewritten to name them. False when there was nothing to convert.
bool upgrade_partial(const fs::path& root, const fs::path& dir, const ConvertFile& convert) {
  bool legacy = false;
  for (const auto& e : fs::directory_iterator(dir)) legacy = legacy || is_legacy(e.path().filename().string());
  if (!legacy) return false;
  const fs::path tmp = fresh(root, "partial-" + dir.filename().string());
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (is_legacy(name)) convert(e.path().string(), (tmp / upgraded_name(name)).string());
  }
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("state-", 0) != 0) continue;
    std::string error;
    auto text = lang::read_regular_file(e.path().string(), 256u << 20, error);
    if (!text) throw StoreError(error);
    auto j = nlohmann::json::parse(*text);  // a malformed state is the caller's damaged folder
    nlohmann::json files = nlohmann::json::object();
    for (const auto& [file, sum] : j.at("files").items()) {
      const std::string now = is_legacy(file) ? upgraded_name(file) : file;
      auto have = sha256_file((tmp / now).string());
      if (!have) throw std::runtime_error(fmt::format("the state names `{}`, which is not there", file));
      files[now] = *have;
    }
    j["files"] = files;
    write_file_atomic((tmp / name).string(), j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  }
  fsync_path(tmp.string(), true);
  exchange(tmp, dir);
  remove_tree(tmp.string());
  return true;
}

}  // namespace

UpgradeOutcome upgrade_cache(const std::string& root_text, const ConvertFile& convert) {
  const fs::path root(root_text);
  UpgradeOutcome out;
  std::string error;
  auto version = lang::read_regular_file((root / "VERSION").string(), 4096, error);
  if (!version) throw StoreError(fmt::format("`{}` is not a whittle cache: {}", root_text, error));
  const std::string line = version->substr(0, version->find('\n'));
  if (line == fmt::format("whittle-cache {}", kCacheFormat)) {
    out.already = true;
    return out;
  }
  if (line != fmt::format("whittle-cache {}", kUpgradableCacheFormat))
    throw StoreError(fmt::format("`{}` is a cache of format `{}`; this whittle upgrades only `whittle-cache {}`",
                                 root_text, line, kUpgradableCacheFormat));
  // No run may use the cache while its files change (runs take this lock shared).
  const fs::path lock = root / "locks" / "cache.lock";
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0664);
  if (fd < 0) throw StoreError(fmt::format("cannot open `{}`: {}", lock.string(), std::strerror(errno)));
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } closer{fd};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    throw StoreError(fmt::format("a run is using the cache `{}`; upgrade it when that run has ended", root_text));
  fs::create_directories(root / "tmp");
  fs::create_directories(root / "corrupt");
  std::error_code ec;
  for (const auto& shard : fs::directory_iterator(root / "objects", ec)) {
    if (!shard.is_directory(ec)) continue;
    for (const auto& e : fs::directory_iterator(shard.path(), ec)) {
      ++out.entries;
      const std::string key = e.path().filename().string();
      auto m = read_manifest((e.path() / "manifest.yaml").string());
      std::string why;
      if (!m || !verify_entry_dir(e.path().string(), key, why)) {
        out.quarantined.push_back(
            fmt::format("{}: {}", m ? m->label : key.substr(0, 16), m ? why : "it has no readable manifest"));
        move_to_corrupt(root.string(), e.path().string());
        continue;
      }
      try {
        out.converted += upgrade_entry(root, e.path(), *m, convert);
      } catch (const WriteError& w) {
        throw StoreError(
            fmt::format("{}; nothing was lost: run `whittle cache upgrade` again when there is room", w.what()));
      } catch (const StoreError&) {
        throw;
      } catch (const std::exception& x) {
        out.quarantined.push_back(fmt::format("{}: {}", m->label, x.what()));
        remove_tree((root / "tmp" / ("upgrade-" + key)).string());
        move_to_corrupt(root.string(), e.path().string());
      }
    }
  }
  for (const auto& e : fs::directory_iterator(root / "partial", ec)) {
    if (!e.is_directory(ec)) continue;
    try {
      out.partial += upgrade_partial(root, e.path(), convert);
    } catch (const WriteError& w) {
      throw StoreError(
          fmt::format("{}; nothing was lost: run `whittle cache upgrade` again when there is room", w.what()));
    } catch (const StoreError&) {
      throw;
    } catch (const std::exception& x) {  // the stage starts again from its first epoch, as after any damage
      out.quarantined.push_back(
          fmt::format("the epoch checkpoints of {}: {}", e.path().filename().string().substr(0, 16), x.what()));
      remove_tree((root / "tmp" / ("upgrade-partial-" + e.path().filename().string())).string());
      move_to_corrupt(root.string(), e.path().string());
    }
  }
  write_file_atomic((root / "VERSION").string(), fmt::format("whittle-cache {}\n", kCacheFormat));
  return out;
}

}  // namespace whittle::runtime
