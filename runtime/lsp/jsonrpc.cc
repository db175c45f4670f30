// LSP framing (jsonrpc.h).
#include "runtime/lsp/jsonrpc.h"

#include <cctype>
#include <cstdint>

namespace whittle::lsp {

namespace {
constexpr std::uint64_t kMaxBody = 64u << 20;

bool starts_with_ci(const std::string& s, const char* prefix) {
  for (std::size_t i = 0; prefix[i]; ++i)
    if (i >= s.size() || std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) return false;
  return true;
}
}  // namespace

std::optional<std::string> read_message(std::istream& in) {
  std::optional<std::uint64_t> length;
  bool any_header = false;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      if (!any_header) continue;  // stray blank lines between messages
      if (!length || *length > kMaxBody) return std::string();
      std::string body(static_cast<std::size_t>(*length), '\0');
      in.read(body.data(), static_cast<std::streamsize>(body.size()));
      if (static_cast<std::uint64_t>(in.gcount()) != *length) return std::nullopt;  // the stream ended inside the body
      return body;
    }
    any_header = true;
    if (starts_with_ci(line, "content-length:")) {
      const std::string v = line.substr(15);
      std::uint64_t n = 0;
      bool digits = false;
      for (char c : v) {
        if (c == ' ' || c == '\t') continue;
        if (!std::isdigit(static_cast<unsigned char>(c)) || n > kMaxBody) {
          digits = false;
          break;
        }
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
        digits = true;
      }
      length = digits ? std::optional<std::uint64_t>(n) : std::nullopt;
    }
  }
  return std::nullopt;
}

void write_message(std::ostream& out, const std::string& body) {
  out << "Content-Length: " << body.size() << "\r\n\r\n" << body;
  out.flush();
}

}  // namespace whittle::lsp
