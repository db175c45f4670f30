// The one way whittle writes a file: into a temporary in the same folder, checked at every write,
// synced, and renamed over the old one, so a kill, a full disk or an error leaves either the old
// file or the new one, never half of one. README.md, "Caching", says what whittle guarantees.
#pragma once
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
