// Atomic, checked file writes (atomic_file.h).
#include "runtime/system/atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

namespace whittle::runtime {
namespace fs = std::filesystem;

bool WriteError::no_space() const { return error == ENOSPC || error == EDQUOT; }

void fsync_path(const std::string& path, bool folder) {
  const int fd = ::open(path.c_str(), folder ? (O_RDONLY | O_DIRECTORY | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC));
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

namespace {

/// 512 bytes, 3.4 KB, 12.0 MB, 1.5 GB: a size for a message (never "0.0 MB" for a small one).
std::string mb(double bytes) {
  if (bytes < 1e3) return fmt::format("{:.0f} bytes", bytes);
  if (bytes < 1e6) return fmt::format("{:.1f} KB", bytes / 1e3);
  if (bytes < 1e9) return fmt::format("{:.1f} MB", bytes / 1e6);
  return fmt::format("{:.2f} GB", bytes / 1e9);
}

/// Where a link points in the end, followed hop by hop even when the last target does not exist
/// yet (realpath gives up there): writing through a dangling link creates its target and keeps the
/// link. Empty when the links loop.
std::string link_target(std::string path) {
  for (int hop = 0; hop < 40; ++hop) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
    std::string to(PATH_MAX, '\0');
    const ssize_t n = ::readlink(path.c_str(), to.data(), to.size());
    if (n < 0) return path;
    to.resize(static_cast<std::size_t>(n));
    path = fs::path(to).is_absolute() ? to : (fs::path(path).parent_path() / to).lexically_normal().string();
  }
  return "";
}

[[noreturn]] void fail(const std::string& path, const std::string& tmp, int err, std::uint64_t bytes) {
  if (!tmp.empty()) ::unlink(tmp.c_str());
  if (err == ENOSPC || err == EDQUOT) {
    std::string free_part;
    struct statvfs v {};
    if (::statvfs(fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path().c_str(), &v) == 0)
      free_part = fmt::format(", {} free", mb(static_cast<double>(v.f_bavail) * static_cast<double>(v.f_frsize)));
    throw WriteError(fmt::format("no space left on the file system of `{}`: {} needed{}; nothing was replaced", path,
                                 mb(bytes), free_part),
                     err);
  }
  throw WriteError(fmt::format("cannot write `{}`: {}; nothing was replaced", path, std::strerror(err)), err);
}

}  // namespace

AtomicFile::AtomicFile(const std::string& path_in, std::uint64_t expected) : path_(path_in), expected_(expected) {
  // A link stays a link: write to what it points at.
  struct stat st {};
  bool exists = false;
  if (::lstat(path_.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    path_ = link_target(path_);
    if (path_.empty())
      throw WriteError(fmt::format("cannot write `{}`: it is a link that leads back to itself", path_in), ELOOP);
  }
  if (::stat(path_.c_str(), &st) == 0) {
    exists = true;
    if (!S_ISREG(st.st_mode))
      throw WriteError(fmt::format("cannot write `{}`: it is not a regular file (a device, a pipe or a folder), and "
                                   "whittle writes only regular files",
                                   path_in),
                       EINVAL);
  }
  std::random_device rd;
  tmp_ = fmt::format("{}.whittle-tmp-{}-{:08x}", path_, ::getpid(), rd());
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, exists ? (st.st_mode & 07777) : 0644);
  if (fd_ < 0) {
    const int err = errno;
    tmp_.clear();
    fail(path_, "", err, expected_);
  }
  if (exists) ::fchmod(fd_, st.st_mode & 07777);  // open's mode is filtered by the umask
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

void AtomicFile::abandon(int err) {
  ::close(fd_);
  fd_ = -1;
  const std::string tmp = tmp_;
  tmp_.clear();
  fail(path_, tmp, err, std::max<std::uint64_t>(expected_, written_));
}

void AtomicFile::write(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd_, p + done, std::min<std::size_t>(size - done, 1 << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) abandon(n < 0 ? errno : ENOSPC);
    done += static_cast<std::size_t>(n);
    written_ += static_cast<std::uint64_t>(n);
  }
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) abandon(errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int err = errno;
    const std::string tmp = tmp_;
    tmp_.clear();
    fail(path_, tmp, err, written_);
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    const std::string tmp = tmp_;
    tmp_.clear();
    fail(path_, tmp, err, written_);
  }
  tmp_.clear();
  const std::string folder = fs::path(path_).parent_path().string();
  fsync_path(folder.empty() ? "." : folder, true);
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFile f(path, bytes.size());
  f.write(bytes.data(), bytes.size());
  f.commit();
}

bool write_file_atomic(const std::string& path, std::string_view bytes, std::string& error) {
  try {
    write_file_atomic(path, bytes);
    return true;
  } catch (const WriteError& e) {
    error = e.what();
    return false;
  }
}

}  // namespace whittle::runtime
