// Reading a file that a user named, safely: only a regular file, checked before it is opened for
// reading (a named pipe would block forever, a device such as /dev/zero never ends), and never more
// than a bound. Every place that reads a path a user gave goes through here.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace whittle::lang {

/// The contents of the regular file at `path`, of at most `max_bytes`. On failure: nullopt, and
/// `error` says why in words (`cannot read `x`: it is a named pipe (FIFO), not a regular file`).
std::optional<std::string> read_regular_file(const std::string& path, std::uintmax_t max_bytes, std::string& error);

/// The deepest nesting of `[` and `{` in a text, inside quotes or not. YAML and JSON parsers recurse
/// on nesting: a file someone else made (a pack's list, a manifest, a run record) deeper than
/// kMaxBracketDepth is refused before it is parsed. Whittle's own files nest a few levels.
int bracket_depth(std::string_view text);
inline constexpr int kMaxBracketDepth = 64;

/// `text` safe to print on a terminal: control characters (ESC and the other C0 codes but tab,
/// DEL, the C1 codes) written as `\xNN`, so text from a file someone else made (a pack's labels,
/// a submission's names) cannot move the cursor, clear the screen or fake a line of whittle's own.
std::string printable(std::string_view text);

/// Whether `path` (absolute, or relative to the current folder) lies inside `folder`, judged from
/// the words alone (`..` resolved lexically, nothing on disk looked at): a confined recipe's paths
/// are refused before anything outside is touched, so a refusal says nothing of what exists there.
bool path_inside(const std::string& path, const std::string& folder);

/// What kind of file `path` is, for messages: "a folder", "a named pipe (FIFO)", "a device", ...;
/// empty for a regular file or a path that does not exist. Follows symbolic links.
std::string non_regular_kind(const std::string& path);

}  // namespace whittle::lang
