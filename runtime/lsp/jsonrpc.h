// JSON-RPC 2.0 messages as the Language Server Protocol frames them on a byte stream: a header of
// `Name: value` lines (Content-Length is the one that matters), an empty line, then that many bytes
// of UTF-8 JSON.
#pragma once
#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <string>

namespace whittle::lsp {

/// The largest body the server reads; a longer one is skipped by its length, unread.
inline constexpr std::uint64_t kMaxBody = 64u << 20;
/// The longest header line; a longer one (or one without an end) makes the frame bad.
inline constexpr std::size_t kMaxHeaderLine = 4096;

/// Reads framed messages, and after a bad frame finds the next good one: a frame is never the end
/// of the conversation.
class FrameReader {
 public:
  explicit FrameReader(std::istream& in) : in_(in) {}
  /// The next message's body; nullopt at the end of the stream. A bad frame reads as an empty body
  /// (the caller answers it as a parse error): a Content-Length over kMaxBody skips that many bytes;
  /// a header without a usable Content-Length (none, not a number, negative, too many digits), a
  /// header line over kMaxHeaderLine or one that is no `Name: value` drops the bytes up to the next
  /// `Content-Length:`, where reading goes on.
  std::optional<std::string> next();

 private:
  enum class Line { Ok, Eof, TooLong };
  Line read_line(std::string& line);
  /// Drops bytes up to and including the next `Content-Length:` (any case); false at the end.
  bool resync();
  std::istream& in_;
  bool resumed_ = false;  ///< resync() consumed a `Content-Length:`: the next header starts after it
};

/// One message from `in` (a FrameReader for a single message, for streams known to be well framed).
std::optional<std::string> read_message(std::istream& in);

/// Writes `body` with its Content-Length header, and flushes.
void write_message(std::ostream& out, const std::string& body);

}  // namespace whittle::lsp
