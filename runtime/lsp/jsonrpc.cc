// LSP framing (jsonrpc.h).
#include "runtime/lsp/jsonrpc.h"

#include <cctype>
#include <cstring>

namespace whittle::lsp {

namespace {

constexpr const char* kLengthHeader = "content-length:";

bool starts_with_ci(const std::string& s, const char* prefix) {
  for (std::size_t i = 0; prefix[i]; ++i)
    if (i >= s.size() ||
        std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

/// The value of a Content-Length header: digits (blanks around them allowed), at most kMaxBody's
/// digits and a few more, so that an over-long body is still skipped by its length.
std::optional<std::uint64_t> parse_length(const std::string& v) {
  std::uint64_t n = 0;
  bool digits = false, ended = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      ended = digits;
      continue;
    }
    if (ended || !std::isdigit(static_cast<unsigned char>(c)) || n > (std::uint64_t{1} << 40)) return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
    digits = true;
  }
  return digits ? std::optional<std::uint64_t>(n) : std::nullopt;
}

}  // namespace

FrameReader::Line FrameReader::read_line(std::string& line) {
  line.clear();
  for (;;) {
    const int c = in_.get();
    if (c == std::char_traits<char>::eof()) return Line::Eof;
    if (c == '\n') break;
    if (line.size() >= kMaxHeaderLine) return Line::TooLong;
    line.push_back(static_cast<char>(c));
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return Line::Ok;
}

bool FrameReader::resync() {
  const std::size_t n = std::strlen(kLengthHeader);
  std::string window;
  for (int c; (c = in_.get()) != std::char_traits<char>::eof();) {
    window.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (window.size() > n) window.erase(0, 1);
    if (window == kLengthHeader) {
      resumed_ = true;
      return true;
    }
  }
  return false;
}

std::optional<std::string> FrameReader::next() {
  std::optional<std::uint64_t> length;
  bool any_header = false, bad = false;
  std::string line;
  for (;;) {
    const bool resumed = resumed_;
    resumed_ = false;
    const Line got = read_line(line);
    if (got == Line::Eof) return bad || any_header ? std::optional<std::string>(std::string()) : std::nullopt;
    if (got == Line::TooLong) {
      bad = true;
      break;
    }
    if (resumed) line = kLengthHeader + line;
    if (line.empty()) {
      if (!any_header) continue;  // stray blank lines between messages
      break;
    }
    any_header = true;
    if (starts_with_ci(line, kLengthHeader)) {
      length = parse_length(line.substr(std::strlen(kLengthHeader)));
      if (!length) bad = true;
    } else if (line.find(':') == std::string::npos) {
      bad = true;  // not a header: the stray bytes of a frame before
      break;
    }
  }
  if (bad || !length) {
    resync();  // at the end of the stream, the next call says so
    return std::string();
  }
  if (*length > kMaxBody) {
    in_.ignore(static_cast<std::streamsize>(*length));
    return std::string();
  }
  std::string body(static_cast<std::size_t>(*length), '\0');
  in_.read(body.data(), static_cast<std::streamsize>(body.size()));
  if (static_cast<std::uint64_t>(in_.gcount()) != *length) return std::nullopt;  // the stream ended inside the body
  return body;
}

std::optional<std::string> read_message(std::istream& in) { return FrameReader(in).next(); }

void write_message(std::ostream& out, const std::string& body) {
  out << "Content-Length: " << body.size() << "\r\n\r\n" << body;
  out.flush();
}

}  // namespace whittle::lsp
