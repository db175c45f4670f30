// Source files and spans. Every AST node, checked stage and diagnostic points back into a SourceFile
// through a Span (byte offsets), and line/column are computed only when something is rendered.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace whittle::lang {

using FileId = std::uint32_t;

/// A half-open byte range [begin, end) in one file of a SourceMap.
struct Span {
  FileId file = 0;
  std::uint32_t begin = 0;
  std::uint32_t end = 0;

  bool operator==(const Span& o) const { return file == o.file && begin == o.begin && end == o.end; }
  bool operator!=(const Span& o) const { return !(*this == o); }
  bool operator<(const Span& o) const {
    if (file != o.file) return file < o.file;
    if (begin != o.begin) return begin < o.begin;
    return end < o.end;
  }
  /// The smallest span covering both (same file assumed).
  Span to(const Span& o) const { return {file, begin < o.begin ? begin : o.begin, end > o.end ? end : o.end}; }
};

/// 1-based line, and 1-based column counted in UTF-8 code points.
struct LineCol {
  std::uint32_t line = 1;
  std::uint32_t column = 1;
};

/// One file's name and text, with a line table.
class SourceFile {
 public:
  SourceFile(std::string name, std::string text);
  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }
  LineCol line_col(std::uint32_t offset) const;
  std::uint32_t line_of(std::uint32_t offset) const { return line_col(offset).line; }
  /// The text of a 1-based line, without its line ending.
  std::string_view line_text(std::uint32_t line) const;
  std::uint32_t line_start(std::uint32_t line) const { return line_starts_.at(line - 1); }
  std::uint32_t line_count() const { return static_cast<std::uint32_t>(line_starts_.size()); }

 private:
  std::string name_;
  std::string text_;
  std::vector<std::uint32_t> line_starts_;
};

/// All the files of one lint/check run: the recipe, the files it `use`s, the stdlib.
class SourceMap {
 public:
  FileId add(std::string name, std::string text);
  const SourceFile& file(FileId id) const { return *files_.at(id); }
  std::optional<FileId> find(const std::string& name) const;
  std::size_t size() const { return files_.size(); }

 private:
  std::vector<std::unique_ptr<SourceFile>> files_;
};

/// Number of UTF-8 code points in a byte range of text (continuation bytes do not count).
std::uint32_t count_code_points(std::string_view text);

}  // namespace whittle::lang
