// The artifact store's file operations: atomic commit, verification, locks, listing and gc.
#include "runtime/store.h"

#include <fcntl.h>
#include <ftw.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <stdexcept>

#include "runtime/record.h"
#include "runtime/sha256.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

constexpr const char* kVersionLine = "whittle-cache 1";

void fsync_path(const fs::path& p, bool dir) {
  const int fd = ::open(p.c_str(), dir ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}


void write_manifest(const fs::path& path, const Manifest& m) {
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
  out << YAML::Key << "metrics" << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : m.metrics) out << YAML::Key << k << YAML::Value << v;
  out << YAML::EndMap;
  out << YAML::Key << "files" << YAML::Value << YAML::BeginSeq;
  for (const auto& f : m.files)
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << f.name << YAML::Key << "size"
        << YAML::Value << f.size << YAML::Key << "sha256" << YAML::Value << f.sha256 << YAML::EndMap;
  out << YAML::EndSeq << YAML::EndMap;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << out.c_str() << "\n";
  f.flush();
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

std::optional<Manifest> read_manifest(const std::string& path) {
  try {
    const YAML::Node n = YAML::LoadFile(path);
    Manifest m;
    m.format = n["format"].as<int>();
    if (m.format != kManifestFormat) return std::nullopt;
    m.key = n["key"].as<std::string>();
    m.kind = n["kind"].as<std::string>();
    m.label = n["label"] ? n["label"].as<std::string>() : "";
    m.created = n["created"] ? n["created"].as<std::string>() : "";
    m.whittle_version = n["whittle_version"] ? n["whittle_version"].as<std::string>() : "";
    m.seconds = n["seconds"] ? n["seconds"].as<double>() : 0;
    if (n["metrics"])
      for (const auto& kv : n["metrics"]) m.metrics[kv.first.as<std::string>()] = kv.second.as<double>();
    for (const auto& f : n["files"]) m.files.push_back({f["name"].as<std::string>(), f["size"].as<std::uint64_t>(), f["sha256"].as<std::string>()});
    return m;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

ArtifactStore::ArtifactStore(std::string root) : root_(std::move(root)) {
  const fs::path r(root_);
  fs::create_directories(r);
  const fs::path version = r / "VERSION";
  if (fs::exists(version)) {
    std::ifstream in(version);
    std::string line;
    std::getline(in, line);
    if (line != kVersionLine)
      throw std::runtime_error(fmt::format("{} is not a whittle cache of this version (its VERSION says `{}`)", root_, line));
  } else {
    if (!fs::is_empty(r) && !fs::exists(r / "objects"))
      throw std::runtime_error(fmt::format("{} is not empty and not a whittle cache; choose another --cache folder", root_));
    std::ofstream(version) << kVersionLine << "\n";
  }
  std::error_code ec;
  shared_ = (fs::status(r, ec).permissions() & fs::perms::group_write) != fs::perms::none;
  for (const char* d : {"objects", "tmp", "partial", "locks", "corrupt"}) {
    fs::create_directories(r / d);
    share((r / d).string());
  }
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

bool ArtifactStore::verify(const std::string& key, std::string& why) const {
  auto m = manifest(key);
  if (!m) {
    why = "its manifest is missing or unreadable";
    return false;
  }
  for (const EntryFile& f : m->files) {
    const fs::path p = fs::path(entry_dir(key)) / f.name;
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

void remove_tree(const std::string& path) noexcept {
  auto rm = [](const char* p, const struct stat*, int, struct FTW*) {
    ::remove(p);  // what cannot be removed stays, as with remove_all(path, ec)
    return 0;
  };
  ::nftw(path.c_str(), rm, 16, FTW_DEPTH | FTW_PHYS);
}

void ArtifactStore::quarantine(const std::string& key) {
  std::error_code ec;
  const fs::path to = fs::path(root_) / "corrupt" / fmt::format("{}-{}", key, std::time(nullptr));
  fs::rename(entry_dir(key), to, ec);
  if (ec) remove_tree(entry_dir(key));
}

std::string ArtifactStore::make_temp_dir(const std::string& key) {
  std::random_device rd;
  const fs::path p = fs::path(root_) / "tmp" / fmt::format("{}-{}-{:08x}", key.substr(0, 16), ::getpid(), rd());
  fs::create_directories(p);
  share(p.string());
  return p.string();
}

Manifest ArtifactStore::commit(const std::string& tmp_dir, Manifest m) {
  m.files.clear();
  for (const auto& e : fs::directory_iterator(tmp_dir)) {
    if (!e.is_regular_file() || e.path().filename() == "manifest.yaml") continue;
    auto sum = sha256_file(e.path().string());
    if (!sum) throw std::runtime_error("cannot read back " + e.path().string());
    m.files.push_back({e.path().filename().string(), static_cast<std::uint64_t>(e.file_size()), *sum});
    share(e.path().string());
    fsync_path(e.path(), false);
  }
  std::sort(m.files.begin(), m.files.end(), [](const EntryFile& a, const EntryFile& b) { return a.name < b.name; });
  if (m.created.empty()) m.created = now_iso();
  write_manifest(fs::path(tmp_dir) / "manifest.yaml", m);
  share((fs::path(tmp_dir) / "manifest.yaml").string());
  fsync_path(fs::path(tmp_dir) / "manifest.yaml", false);
  fsync_path(tmp_dir, true);
  const fs::path dest(entry_dir(m.key));
  fs::create_directories(dest.parent_path());
  share(dest.parent_path().string());
  std::error_code ec;
  if (fs::exists(dest / "manifest.yaml")) {  // someone else finished first: theirs is as good
    remove_tree(tmp_dir);
    return m;
  }
  if (fs::exists(dest)) remove_tree(dest.string());  // a leftover without manifest
  fs::rename(tmp_dir, dest, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot move the entry into {}: {}", dest.string(), ec.message()));
  fsync_path(dest.parent_path(), true);
  return m;
}

std::string ArtifactStore::partial_dir(const std::string& key) {
  const fs::path p = fs::path(root_) / "partial" / key;
  fs::create_directories(p);
  share(p.string());
  return p.string();
}

void ArtifactStore::drop_partial(const std::string& key) {
  remove_tree((fs::path(root_) / "partial" / key).string());
}

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

ArtifactStore::Lock ArtifactStore::lock(const std::string& key, const std::function<void()>& on_wait) {
  const fs::path p = fs::path(root_) / "locks" / (key + ".lock");
  // flock works on a descriptor opened for reading alone, so a lock file another member of the
  // group created (and may not have opened to the group for writing) still locks.
  int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0664);
  if (fd < 0 && errno == EACCES) fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open lock " + p.string());
  share(p.string());
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (on_wait) on_wait();
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(fd);
        throw std::runtime_error("cannot lock " + p.string());
      }
    }
  }
  return Lock(fd);
}

std::vector<Manifest> ArtifactStore::list() const {
  std::vector<Manifest> out;
  std::error_code ec;
  for (const auto& shard : fs::directory_iterator(fs::path(root_) / "objects", ec)) {
    if (!shard.is_directory()) continue;
    for (const auto& e : fs::directory_iterator(shard.path(), ec)) {
      if (auto m = read_manifest((e.path() / "manifest.yaml").string())) out.push_back(*m);
    }
  }
  std::sort(out.begin(), out.end(), [](const Manifest& a, const Manifest& b) { return a.created < b.created; });
  return out;
}

std::pair<std::size_t, std::uint64_t> ArtifactStore::gc(const std::vector<std::string>& keep) {
  const std::set<std::string> keys(keep.begin(), keep.end());
  std::size_t n = 0;
  std::uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& shard : fs::directory_iterator(fs::path(root_) / "objects", ec)) {
    if (!shard.is_directory()) continue;
    for (const auto& e : fs::directory_iterator(shard.path(), ec)) {
      if (keys.count(e.path().filename().string())) continue;
      for (const auto& f : fs::recursive_directory_iterator(e.path(), ec))
        if (f.is_regular_file()) bytes += f.file_size();
      remove_tree(e.path().string());
      ++n;
    }
  }
  // Leftovers of killed runs; a day's age keeps the folders of runs still writing.
  const auto day_ago = fs::file_time_type::clock::now() - std::chrono::hours(24);
  for (const char* d : {"tmp", "corrupt"})
    for (const auto& e : fs::directory_iterator(fs::path(root_) / d, ec))
      if (e.last_write_time(ec) < day_ago) remove_tree(e.path().string());
  return {n, bytes};
}

}  // namespace whittle::runtime
