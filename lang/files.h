// Reading a file that a user named, safely: only a regular file, checked before it is opened for
// reading (a named pipe would block forever, a device such as /dev/zero never ends), and never more
// than a bound. Every place that reads a path a user gave goes through here.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace whittle::lang {

/// The contents of the regular file at `path`, of at most `max_bytes`. On failure: nullopt, and
/// `error` says why in words (`cannot read `x`: it is a named pipe (FIFO), not a regular file`).
std::optional<std::string> read_regular_file(const std::string& path, std::uintmax_t max_bytes, std::string& error);

/// What kind of file `path` is, for messages: "a folder", "a named pipe (FIFO)", "a device", ...;
/// empty for a regular file or a path that does not exist. Follows symbolic links.
std::string non_regular_kind(const std::string& path);

}  // namespace whittle::lang
