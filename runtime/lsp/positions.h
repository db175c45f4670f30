// LSP positions (0-based line, UTF-16 code units into the line) and byte offsets into a document.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace whittle::lsp {

/// {"line", "character"} of a byte offset (clamped to the text).
nlohmann::json position_of(const std::string& text, std::size_t offset);
/// The byte offset of an LSP position; a line or character past the end is clamped to it, and a
/// malformed position gives 0.
std::size_t offset_of(const std::string& text, const nlohmann::json& position);
/// {"start", "end"} of a byte range.
nlohmann::json range_of(const std::string& text, std::size_t begin, std::size_t end);

/// Positions of many offsets in one text: the line starts found once, each position then a binary
/// search and a walk along its line (position_of walks the text from its start every time).
class LineIndex {
 public:
  explicit LineIndex(const std::string& text);
  nlohmann::json position(std::size_t offset) const;
  nlohmann::json range(std::size_t begin, std::size_t end) const {
    return {{"start", position(begin)}, {"end", position(end)}};
  }

 private:
  const std::string& text_;
  std::vector<std::size_t> starts_;
};

/// file:///a/b.recipe → /a/b.recipe (percent-escapes decoded); "" for another scheme.
std::string path_of_uri(const std::string& uri);
std::string uri_of_path(const std::string& path);

}  // namespace whittle::lsp
