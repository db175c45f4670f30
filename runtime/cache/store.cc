// The artifact store's file operations: atomic commit, verification, locks, listing and gc.
#include "runtime/cache/store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <ftw.h>
#include <sys/file.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <stdexcept>

#include "lang/files.h"
#include "runtime/system/atomic_file.h"
#include "runtime/system/clock.h"
#include "runtime/system/sha256.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

constexpr std::uintmax_t kMaxManifestBytes = 16u << 20;

std::string version_line() { return fmt::format("whittle-cache {}", kCacheFormat); }

void fsync_path(const fs::path& p, bool dir) { runtime::fsync_path(p.string(), dir); }

}  // namespace

/// The manifest's YAML, then `checksum: ` and the SHA-256 of everything before that line.
void write_manifest(const std::string& path, const Manifest& m) {
  YAML::Emitter out;
  out.SetDoublePrecision(17);  // metrics read back exactly
  out << YAML::BeginMap;
  out << YAML::Key << "format" << YAML::Value << m.format;
  out << YAML::Key << "key" << YAML::Value << m.key;
  out << YAML::Key << "kind" << YAML::Value << m.kind;
  out << YAML::Key << "label" << YAML::Value << m.label;
  out << YAML::Key << "created" << YAML::Value << m.created;
  out << YAML::Key << "whittle_version" << YAML::Value << m.whittle_version;
  out << YAML::Key << "seconds" << YAML::Value << m.seconds;
  if (!m.device.empty()) out << YAML::Key << "device" << YAML::Value << m.device;
  out << YAML::Key << "metrics" << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : m.metrics) out << YAML::Key << k << YAML::Value << v;
  out << YAML::EndMap;
  out << YAML::Key << "files" << YAML::Value << YAML::BeginSeq;
  for (const auto& f : m.files)
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << f.name << YAML::Key << "size"
        << YAML::Value << f.size << YAML::Key << "sha256" << YAML::Value << f.sha256 << YAML::EndMap;
  out << YAML::EndSeq << YAML::EndMap;
  write_file_atomic(path, sealed(std::string(out.c_str()) + "\n"));
}

std::optional<Manifest> read_manifest(const std::string& path, std::string* why) {
  auto fail = [&](const std::string& w) -> std::optional<Manifest> {
    if (why) *why = w;
    return std::nullopt;
  };
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return fail("it has no manifest");
  std::string error;
  auto text = lang::read_regular_file(path, kMaxManifestBytes, error);
  if (!text) return fail("its manifest cannot be read: " + error);
  std::string seal_why;
  const auto sealed_body = unsealed(*text, seal_why);
  if (!sealed_body) return fail("its manifest " + seal_why);
  const std::string& body = *sealed_body;
  if (lang::bracket_depth(body) > lang::kMaxBracketDepth) return fail("its manifest nests deeper than a manifest does");
  try {
    const YAML::Node n = YAML::Load(body);
    Manifest m;
    m.format = n["format"].as<int>();
    if (m.format != kManifestFormat)
      return fail(
          fmt::format("its manifest is of format {}, and this whittle reads format {}", m.format, kManifestFormat));
    m.key = n["key"].as<std::string>();
    m.kind = n["kind"].as<std::string>();
    m.label = n["label"] ? n["label"].as<std::string>() : "";
    m.created = n["created"] ? n["created"].as<std::string>() : "";
    m.whittle_version = n["whittle_version"] ? n["whittle_version"].as<std::string>() : "";
    m.seconds = n["seconds"] ? n["seconds"].as<double>() : 0;
    m.device = n["device"] ? n["device"].as<std::string>() : "";
    if (n["metrics"])
      for (const auto& kv : n["metrics"]) m.metrics[kv.first.as<std::string>()] = kv.second.as<double>();
    for (const auto& f : n["files"]) {
      EntryFile e{f["name"].as<std::string>(), f["size"].as<std::uint64_t>(), f["sha256"].as<std::string>()};
      if (e.name.empty() || e.name.find('/') != std::string::npos || e.name == "." || e.name == "..")
        return fail(fmt::format("its manifest names a file `{}` outside the entry", e.name));
      m.files.push_back(std::move(e));
    }
    return m;
  } catch (const std::exception& e) {
    return fail(fmt::format("its manifest is malformed: {}", e.what()));
  }
}

ArtifactStore::ArtifactStore(std::string root) : root_(std::move(root)) {
  const fs::path r(root_);
  std::error_code ec;
  if (fs::exists(r, ec) && !fs::is_directory(r, ec))
    throw StoreError(fmt::format("the cache `{}` is a file, not a folder; choose another --cache folder", root_));
  fs::create_directories(r, ec);
  if (ec) throw StoreError(fmt::format("cannot create the cache folder `{}`: {}", root_, ec.message()));
  const fs::path version = r / "VERSION";
  std::string error;
  if (fs::exists(version, ec)) {
    auto text = lang::read_regular_file(version.string(), 4096, error);
    if (!text) throw StoreError(fmt::format("`{}` cannot be read: {}", version.string(), error));
    const std::string line = text->substr(0, text->find('\n'));
    if (line != version_line()) {
      const bool older = line.rfind("whittle-cache ", 0) == 0;
      if (line == fmt::format("whittle-cache {}", kUpgradableCacheFormat))
        throw StoreError(fmt::format(
            "`{}` is a whittle cache of the previous version (`{}`), whose checkpoints are LibTorch archives; "
            "convert it once with `whittle cache upgrade --cache {}` (every entry is kept), or choose another --cache "
            "folder",
            root_, line, root_));
      throw StoreError(
          older ? fmt::format("`{}` is a whittle cache of another version (`{}`; this whittle uses `{}`): its entries "
                              "cannot be reused. "
                              "Remove it (`rm -r {}`) or choose another --cache folder; nothing in it was changed",
                              root_, line, version_line(), root_)
                : fmt::format("`{}` is not a whittle cache (its VERSION says `{}`); choose another --cache folder",
                              root_, line));
    }
  } else {
    if (!fs::is_empty(r, ec) && !fs::exists(r / "objects", ec))
      throw StoreError(fmt::format("{} is not empty and not a whittle cache; choose another --cache folder", root_));
  }
  shared_ = (fs::status(r, ec).permissions() & fs::perms::group_write) != fs::perms::none;
  for (const char* d : {"objects", "tmp", "partial", "locks", "corrupt", "runs"}) {
    const fs::path sub = r / d;
    if (fs::exists(sub, ec) && !fs::is_directory(sub, ec))
      throw StoreError(
          fmt::format("the cache `{}` is damaged: `{}` is a file, where whittle keeps a folder; move that file aside, "
                      "or choose another --cache folder",
                      root_, sub.string()));
    fs::create_directories(sub, ec);
    if (ec && !fs::is_directory(sub))
      throw StoreError(fmt::format("cannot create `{}`: {}", sub.string(), ec.message()));
    share(sub.string());
  }
  if (!fs::exists(version, ec) && !write_file_atomic(version.string(), version_line() + "\n", error))
    throw StoreError(error);
}

void ArtifactStore::share(const std::string& path) const {
  std::error_code ec;
  const bool dir = fs::is_directory(path, ec);
  fs::perms add = fs::perms::group_read;
  if (dir) add |= fs::perms::group_exec;
  if (shared_) add |= fs::perms::group_write;
  fs::permissions(path, add, fs::perm_options::add, ec);  // best effort: only the owner may change it
}

std::string ArtifactStore::entry_dir(const std::string& key) const {
  return (fs::path(root_) / "objects" / key.substr(0, 2) / key).string();
}

std::optional<Manifest> ArtifactStore::manifest(const std::string& key) const {
  auto m = read_manifest((fs::path(entry_dir(key)) / "manifest.yaml").string());
  if (m && m->key != key) return std::nullopt;
  return m;
}

bool ArtifactStore::has(const std::string& key) const {
  std::error_code ec;
  return fs::exists(fs::path(entry_dir(key)) / "manifest.yaml", ec);
}

bool verify_entry_dir(const std::string& dir, const std::string& key, std::string& why) {
  auto m = read_manifest((fs::path(dir) / "manifest.yaml").string(), &why);
  if (!m) return false;
  if (m->key != key) {
    why = fmt::format("its manifest is that of another entry ({})", m->key.substr(0, 16));
    return false;
  }
  for (const EntryFile& f : m->files) {
    const fs::path p = fs::path(dir) / f.name;
    std::error_code ec;
    const auto size = fs::file_size(p, ec);
    if (ec) {
      why = fmt::format("`{}` is missing", f.name);
      return false;
    }
    if (size != f.size) {
      why = fmt::format("`{}` has {} bytes, the manifest says {}", f.name, size, f.size);
      return false;
    }
    auto sum = sha256_file(p.string());
    if (!sum || *sum != f.sha256) {
      why = fmt::format("`{}` does not match its checksum", f.name);
      return false;
    }
  }
  return true;
}

bool ArtifactStore::verify(const std::string& key, std::string& why) const {
  return verify_entry_dir(entry_dir(key), key, why);
}

void remove_tree(const std::string& path) noexcept {
  auto rm = [](const char* p, const struct stat*, int, struct FTW*) {
    ::remove(p);  // what cannot be removed stays, as with remove_all(path, ec)
    return 0;
  };
  ::nftw(path.c_str(), rm, 16, FTW_DEPTH | FTW_PHYS);
}

void ArtifactStore::quarantine(const std::string& key) { move_to_corrupt(root_, entry_dir(key)); }

std::string ArtifactStore::make_temp_dir(const std::string& key) {
  std::random_device rd;
  const fs::path p = fs::path(root_) / "tmp" / fmt::format("{}-{}-{:08x}", key.substr(0, 16), ::getpid(), rd());
  fs::create_directories(p);
  share(p.string());
  return p.string();
}

std::vector<EntryFile> folder_files(const std::string& dir) {
  std::vector<EntryFile> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().filename() == "manifest.yaml") continue;
    auto sum = sha256_file(e.path().string());
    if (!sum) throw StoreError(fmt::format("cannot read `{}`", e.path().string()));
    files.push_back({e.path().filename().string(), static_cast<std::uint64_t>(e.file_size()), *sum});
  }
  std::sort(files.begin(), files.end(), [](const EntryFile& a, const EntryFile& b) { return a.name < b.name; });
  return files;
}

void move_to_corrupt(const std::string& root, const std::string& dir) {
  std::error_code ec;
  fs::rename(dir,
             fs::path(root) / "corrupt" / fmt::format("{}-{}", fs::path(dir).filename().string(), std::time(nullptr)),
             ec);
  if (ec) remove_tree(dir);
}

Manifest ArtifactStore::commit(const std::string& tmp_dir, Manifest m) {
  m.files = folder_files(tmp_dir);
  for (const auto& f : m.files) {
    const fs::path p = fs::path(tmp_dir) / f.name;
    share(p.string());
    fsync_path(p, false);
  }
  if (m.created.empty()) m.created = now_iso();
  write_manifest((fs::path(tmp_dir) / "manifest.yaml").string(), m);  // synced, with the folder
  share((fs::path(tmp_dir) / "manifest.yaml").string());
  install(tmp_dir, m.key);  // false: someone else finished first, and theirs is as good
  return m;
}

bool ArtifactStore::install(const std::string& tmp_dir, const std::string& key) {
  const fs::path dest(entry_dir(key));
  fs::create_directories(dest.parent_path());
  share(dest.parent_path().string());
  std::error_code ec;
  if (fs::exists(dest / "manifest.yaml")) {
    remove_tree(tmp_dir);
    return false;
  }
  for (const auto& e : fs::directory_iterator(tmp_dir, ec)) share(e.path().string());
  if (fs::exists(dest)) remove_tree(dest.string());  // a leftover without manifest
  fs::rename(tmp_dir, dest, ec);
  if (ec) throw StoreError(fmt::format("cannot move the entry into {}: {}", dest.string(), ec.message()));
  fsync_path(dest.parent_path(), true);
  return true;
}

bool ArtifactStore::install_partial(const std::string& tmp_dir, const std::string& key) {
  if (has(key)) return false;
  const fs::path dest(partial_path(key));
  std::error_code ec;
  if (fs::exists(fs::symlink_status(dest, ec))) {
    if (!fs::is_directory(fs::symlink_status(dest, ec)) || !fs::is_empty(dest, ec)) return false;
    fs::remove(dest, ec);
  }
  share(tmp_dir);
  for (const auto& e : fs::directory_iterator(tmp_dir, ec)) share(e.path().string());
  fs::rename(tmp_dir, dest, ec);
  if (ec) throw StoreError(fmt::format("cannot move the checkpoints into {}: {}", dest.string(), ec.message()));
  fsync_path(dest.parent_path(), true);
  return true;
}

std::string ArtifactStore::partial_dir(const std::string& key) {
  const fs::path p = fs::path(root_) / "partial" / key;
  std::error_code ec;
  if (fs::exists(fs::symlink_status(p, ec)) && !fs::is_directory(fs::symlink_status(p, ec)))
    fs::remove(p, ec);  // not ours: a file in its place
  fs::create_directories(p);
  share(p.string());
  return p.string();
}

std::string ArtifactStore::partial_path(const std::string& key) const {
  return (fs::path(root_) / "partial" / key).string();
}

void ArtifactStore::drop_partial(const std::string& key) { remove_tree((fs::path(root_) / "partial" / key).string()); }

ArtifactStore::Lock& ArtifactStore::Lock::operator=(Lock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

ArtifactStore::Lock::~Lock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

int ArtifactStore::open_lock(const std::string& key) const {
  const fs::path p = fs::path(root_) / "locks" / (key + ".lock");
  // flock works on a descriptor opened for reading alone, so a lock file another member of the
  // group created (and may not have opened to the group for writing) still locks.
  int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0664);
  if (fd < 0 && errno == EACCES) fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw StoreError(fmt::format("cannot open the lock `{}`: {}", p.string(), std::strerror(errno)));
  share(p.string());
  return fd;
}

ArtifactStore::Lock ArtifactStore::lock(const std::string& key, const std::function<void()>& on_wait) {
  const int fd = open_lock(key);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (on_wait) on_wait();
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(fd);
        throw StoreError(fmt::format("cannot lock the entry {}: {}", key.substr(0, 16), std::strerror(errno)));
      }
    }
  }
  return Lock(fd);
}

ArtifactStore::Lock ArtifactStore::try_lock(const std::string& key) {
  const int fd = open_lock(key);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    ::close(fd);
    return Lock();
  }
  return Lock(fd);
}

ArtifactStore::Lock ArtifactStore::use_lock(bool exclusive) const {
  const fs::path p = fs::path(root_) / "locks" / "cache.lock";
  int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0664);
  if (fd < 0 && errno == EACCES) fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (exclusive) throw StoreError(fmt::format("cannot open `{}`: {}", p.string(), std::strerror(errno)));
    return Lock();  // a read-only cache: nothing will be written, so nothing to keep gc from
  }
  share(p.string());
  const int op = exclusive ? (LOCK_EX | LOCK_NB) : LOCK_SH;
  while (::flock(fd, op) != 0) {
    if (errno == EINTR) continue;
    ::close(fd);
    return Lock();
  }
  return Lock(fd);
}

std::vector<Manifest> ArtifactStore::list() const {
  std::vector<Manifest> out;
  std::error_code ec;
  for (const auto& shard : fs::directory_iterator(fs::path(root_) / "objects", ec)) {
    if (!shard.is_directory(ec)) continue;
    for (const auto& e : fs::directory_iterator(shard.path(), ec)) {
      if (auto m = read_manifest((e.path() / "manifest.yaml").string())) out.push_back(*m);
    }
  }
  std::sort(out.begin(), out.end(), [](const Manifest& a, const Manifest& b) { return a.created < b.created; });
  return out;
}

std::vector<ArtifactStore::Problem> ArtifactStore::audit(std::size_t& entries) const {
  std::vector<Problem> out;
  entries = 0;
  std::error_code ec;
  const fs::path objects = fs::path(root_) / "objects";
  std::vector<fs::path> folders;
  for (const auto& shard : fs::directory_iterator(objects, ec)) {
    if (!shard.is_directory(ec)) {
      out.push_back({shard.path().string(), "", "a file where whittle keeps folders of entries"});
      continue;
    }
    for (const auto& e : fs::directory_iterator(shard.path(), ec)) folders.push_back(e.path());
  }
  std::sort(folders.begin(), folders.end());
  for (const fs::path& f : folders) {
    ++entries;
    const std::string key = f.filename().string();
    std::string why;
    if (!fs::is_directory(f, ec))
      why = "a file where whittle keeps an entry's folder";
    else if (f.parent_path().filename() != key.substr(0, 2))
      why = "a folder in the wrong place for its name";
    else if (verify(key, why))
      continue;
    auto m = read_manifest((f / "manifest.yaml").string());
    out.push_back({f.string(), m ? m->label : "", why});
  }
  return out;
}

std::pair<std::size_t, std::uint64_t> ArtifactStore::gc(const std::vector<std::string>& keep) {
  const std::set<std::string> keys(keep.begin(), keep.end());
  std::size_t n = 0;
  std::uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& shard : fs::directory_iterator(fs::path(root_) / "objects", ec)) {
    if (!shard.is_directory(ec)) continue;
    for (const auto& e : fs::directory_iterator(shard.path(), ec)) {
      if (keys.count(e.path().filename().string())) continue;
      for (const auto& f : fs::recursive_directory_iterator(e.path(), ec))
        if (f.is_regular_file(ec)) bytes += f.file_size(ec);
      remove_tree(e.path().string());
      ++n;
    }
  }
  // No run holds the cache (the caller holds use_lock(true)): whatever is in tmp/ is what killed
  // runs left; epoch checkpoints are kept for the stages still wanted, which a rerun resumes.
  for (const auto& e : fs::directory_iterator(fs::path(root_) / "tmp", ec)) remove_tree(e.path().string());
  for (const auto& e : fs::directory_iterator(fs::path(root_) / "partial", ec))
    if (!keys.count(e.path().filename().string())) remove_tree(e.path().string());
  for (const auto& e : fs::directory_iterator(fs::path(root_) / "locks", ec)) {
    const std::string name = e.path().filename().string();
    if (name != "cache.lock" && !keys.count(e.path().stem().string())) fs::remove(e.path(), ec);
  }
  // Entries found corrupt are kept a day for inspection.
  const auto day_ago = fs::file_time_type::clock::now() - std::chrono::hours(24);
  for (const auto& e : fs::directory_iterator(fs::path(root_) / "corrupt", ec))
    if (e.last_write_time(ec) < day_ago) remove_tree(e.path().string());
  return {n, bytes};
}

}  // namespace whittle::runtime
