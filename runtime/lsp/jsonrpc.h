// JSON-RPC 2.0 messages as the Language Server Protocol frames them on a byte stream: a header of
// `Name: value` lines (Content-Length is the one that matters), an empty line, then that many bytes
// of UTF-8 JSON.
#pragma once
#include <istream>
#include <optional>
#include <ostream>
#include <string>

namespace whittle::lsp {

/// The next message's body; nullopt at the end of the stream. A header without a usable
/// Content-Length (or one over 64 MiB) is skipped up to the next empty line, and the message is
/// read as empty: the caller answers it as a parse error.
std::optional<std::string> read_message(std::istream& in);

/// Writes `body` with its Content-Length header, and flushes.
void write_message(std::ostream& out, const std::string& body);

}  // namespace whittle::lsp
