// Atomic, checked file writes (atomic_file.h).
#include "runtime/atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

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

std::string mb(double bytes) { return fmt::format("{:.1f} MB", bytes / 1e6); }

[[noreturn]] void fail(const std::string& path, const std::string& tmp, int err, std::size_t bytes) {
  if (!tmp.empty()) ::unlink(tmp.c_str());
  if (err == ENOSPC || err == EDQUOT) {
    std::string free_part;
    struct statvfs v {};
    if (::statvfs(fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path().c_str(), &v) == 0)
      free_part = fmt::format(", {} free", mb(static_cast<double>(v.f_bavail) * static_cast<double>(v.f_frsize)));
    throw WriteError(fmt::format("no space left on the file system of `{}`: {} needed{}; nothing was replaced", path, mb(bytes), free_part), err);
  }
  throw WriteError(fmt::format("cannot write `{}`: {}; nothing was replaced", path, std::strerror(err)), err);
}

}  // namespace

void write_file_atomic(const std::string& path_in, std::string_view bytes) {
  // A link stays a link: write to what it points at.
  std::string path = path_in;
  struct stat st {};
  bool exists = false;
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    char* real = ::realpath(path.c_str(), nullptr);
    if (real) {
      path = real;
      std::free(real);
    }
  }
  if (::stat(path.c_str(), &st) == 0) {
    exists = true;
    if (!S_ISREG(st.st_mode))
      throw WriteError(fmt::format("cannot write `{}`: it is not a regular file (a device, a pipe or a folder), and whittle writes only regular files",
                                   path_in),
                       EINVAL);
  }
  std::random_device rd;
  const std::string tmp = fmt::format("{}.whittle-tmp-{}-{:08x}", path, ::getpid(), rd());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, exists ? (st.st_mode & 07777) : 0644);
  if (fd < 0) fail(path, "", errno, bytes.size());
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, std::min<std::size_t>(bytes.size() - done, 1 << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      ::close(fd);
      fail(path, tmp, err, bytes.size());
    }
    done += static_cast<std::size_t>(n);
  }
  if (exists) ::fchmod(fd, st.st_mode & 07777);  // open's mode is filtered by the umask
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail(path, tmp, err, bytes.size());
  }
  if (::close(fd) != 0) fail(path, tmp, errno, bytes.size());
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail(path, tmp, errno, bytes.size());
  const std::string folder = fs::path(path).parent_path().string();
  fsync_path(folder.empty() ? "." : folder, true);
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
