// LSP positions and URIs (positions.h).
#include "runtime/lsp/positions.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace whittle::lsp {

namespace {

/// UTF-16 code units of the UTF-8 sequence that starts with `lead`.
int utf16_units(unsigned char lead) { return lead >= 0xF0 ? 2 : 1; }
std::size_t utf8_length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
}

}  // namespace

namespace {
/// UTF-16 code units of text[start, offset).
std::size_t units(const std::string& text, std::size_t start, std::size_t offset) {
  std::size_t character = 0;
  for (std::size_t i = start; i < offset;) {
    const auto c = static_cast<unsigned char>(text[i]);
    character += static_cast<std::size_t>(utf16_units(c));
    i += utf8_length(c);
  }
  return character;
}
}  // namespace

nlohmann::json position_of(const std::string& text, std::size_t offset) { return LineIndex(text).position(offset); }

LineIndex::LineIndex(const std::string& text) : text_(text) {
  starts_.push_back(0);
  for (std::size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') starts_.push_back(i + 1);
}

nlohmann::json LineIndex::position(std::size_t offset) const {
  if (offset > text_.size()) offset = text_.size();
  const auto it = std::upper_bound(starts_.begin(), starts_.end(), offset) - 1;
  return {{"line", static_cast<std::size_t>(it - starts_.begin())}, {"character", units(text_, *it, offset)}};
}

std::size_t offset_of(const std::string& text, const nlohmann::json& position) {
  if (!position.is_object() || !position.contains("line") || !position.contains("character") ||
      !position["line"].is_number_integer() || !position["character"].is_number_integer())
    return 0;
  const auto line = position["line"].get<std::int64_t>(), character = position["character"].get<std::int64_t>();
  if (line < 0) return 0;
  std::size_t i = 0;
  for (std::int64_t l = 0; l < line; ++l) {
    const auto nl = text.find('\n', i);
    if (nl == std::string::npos) return text.size();
    i = nl + 1;
  }
  for (std::int64_t units = 0; i < text.size() && text[i] != '\n' && units < character;) {
    const auto c = static_cast<unsigned char>(text[i]);
    units += utf16_units(c);
    i = std::min(text.size(), i + utf8_length(c));
  }
  return i;
}

nlohmann::json range_of(const std::string& text, std::size_t begin, std::size_t end) {
  return LineIndex(text).range(begin, end);
}

std::string path_of_uri(const std::string& uri) {
  if (uri.rfind("file://", 0) != 0) return "";
  std::string out;
  for (std::size_t i = 7; i < uri.size(); ++i) {
    if (uri[i] == '%' && i + 2 < uri.size() && std::isxdigit(static_cast<unsigned char>(uri[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(uri[i + 2]))) {
      out += static_cast<char>(std::stoi(uri.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += uri[i];
    }
  }
  return out;
}

std::string uri_of_path(const std::string& path) {
  std::error_code ec;
  const std::string abs = std::filesystem::absolute(path, ec).lexically_normal().string();
  std::string out = "file://";
  for (unsigned char c : abs.empty() ? path : abs) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else {
      static const char* hex = "0123456789ABCDEF";
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace whittle::lsp
