// The one way whittle writes a file: into a temporary in the same folder, checked at every write,
// synced, and renamed over the old one, so a kill, a full disk or an error leaves either the old
// file or the new one, never half of one. docs/caching.md says what whittle guarantees.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace whittle::runtime {

/// A file that could not be written. `no_space`: the file system is full (ENOSPC or EDQUOT).
struct WriteError : std::runtime_error {
  WriteError(const std::string& what, int err) : std::runtime_error(what), error(err) {}
  int error;
  bool no_space() const;
};

/// A file written in pieces, atomically: into a temporary beside `path`, which commit() syncs and
/// renames over `path`; destroyed uncommitted (an error, an exception), the temporary goes and `path`
/// is as it was. Refuses, as write_file_atomic does, a path that is not a regular file; a link is kept
/// and its target replaced. `expected`: the bytes it will hold, for the message on a full disk.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path, std::uint64_t expected = 0);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();
  void write(const void* data, std::size_t n);  ///< throws WriteError
  void commit();                                ///< throws WriteError
  std::uint64_t written() const { return written_; }

 private:
  [[noreturn]] void abandon(int err);
  std::string path_, tmp_;
  int fd_ = -1;
  std::uint64_t expected_ = 0, written_ = 0;
};

/// Writes `bytes` to `path` atomically (temporary, fsync, rename, fsync of the folder). The old file,
/// if any, keeps its permissions. A symbolic link is kept and its target replaced. A path that is
/// something other than a regular file (a device, a pipe, a folder) is refused. Throws WriteError,
/// whose message names the path and the cause and, on a full disk, how much space was needed.
void write_file_atomic(const std::string& path, std::string_view bytes);

/// The same, reporting failure in `error` instead of throwing.
bool write_file_atomic(const std::string& path, std::string_view bytes, std::string& error);

/// Syncs a file or a folder to disk (best effort).
void fsync_path(const std::string& path, bool folder);

}  // namespace whittle::runtime
