// A submission's archive (tar.gz, libarchive): what may be in one, and reading one safely.
//
// A submission is one top folder holding only these regular files, each bounded by its kind:
//   MANIFEST.sha256   claims.json   run.yaml   model.safetensors   recipe/...   report/...   exports/...
// Reading refuses, before anything is written anywhere: paths that leave the folder (absolute,
// `..`), links, devices and other non-regular entries, a path that is both a file and a folder,
// over-long paths, an entry twice, a file of no known kind, and a file larger than its kind allows.
// Entries are streamed: memory grows with the bytes actually read, never with what a header declares,
// and all of them together stop at kMaxSubmissionBytes however well they compress.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace whittle::runtime {

/// What verify reads of one submission at most, all files inflated together: a course model is
/// tens of MB (VGG19 in float, 80 MB); a 100 KB archive that inflates past this is refused.
inline constexpr std::uint64_t kMaxSubmissionBytes = std::uint64_t{512} << 20;

using SubmissionFiles = std::map<std::string, std::string>;  ///< path inside the top folder → contents

/// The largest file of this path's kind in a submission, or 0 when no file may have this path.
std::uint64_t submission_file_limit(const std::string& inner_path);

/// Reads a submission; nullopt with `error` saying which entry was refused and why.
std::optional<SubmissionFiles> read_submission(const std::string& file, std::string& top, std::string& error);

/// Writes `files` under `top/` as a tar.gz at `out`, atomically; only a regular file (or a new one)
/// is written: a device or pipe at `out` is refused.
bool write_submission(const std::string& out, const std::string& top, const SubmissionFiles& files, std::string& error);

}  // namespace whittle::runtime
