// Rendering diagnostics the way rustc and ruff do: code, location, the source line, a caret, help.
#include "lang/render.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "lang/codes.h"

namespace whittle::lang {
namespace {

std::string location(const SourceMap& sources, const Span& s) {
  const SourceFile& f = sources.file(s.file);
  LineCol lc = f.line_col(s.begin);
  return fmt::format("{}:{}:{}", f.name(), lc.line, lc.column);
}

/// The source line with tabs shown as single spaces so that carets line up.
std::string display_line(std::string_view line) {
  std::string out(line);
  std::replace(out.begin(), out.end(), '\t', ' ');
  return out;
}

/// Control characters (a NUL, an escape sequence) shown as U+FFFD: they would cut the output short
/// where it is printed as a C string, or drive the terminal. Newlines stay.
std::string printable(std::string s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f)
      out += "\xEF\xBF\xBD";
    else
      out += c;
  }
  return out;
}

/// A message cut to a length a person reads (a 15 MB word quoted in full helps nobody).
std::string short_text(const std::string& s) {
  constexpr std::size_t kMax = 400;
  if (s.size() <= kMax) return s;
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
  return s.substr(0, cut) + fmt::format("… ({} bytes more)", s.size() - cut);
}

/// The byte offset of code point `n` of `line` (or its end).
std::size_t byte_of(std::string_view line, std::uint32_t n) {
  std::size_t i = 0;
  for (std::uint32_t k = 0; i < line.size() && k < n; ++k) {
    ++i;
    while (i < line.size() && (static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) ++i;
  }
  return i;
}

struct Mark {
  std::uint32_t line;
  std::uint32_t col;  // 1-based code points
  std::uint32_t width;
  bool primary;
  std::string text;
};

Mark mark_for(const SourceFile& f, const Label& l, bool primary) {
  LineCol a = f.line_col(l.span.begin);
  std::string_view line = f.line_text(a.line);
  const std::uint32_t line_begin = f.line_start(a.line);
  const std::uint32_t line_end = line_begin + static_cast<std::uint32_t>(line.size());
  const std::uint32_t end = std::min(std::max(l.span.end, l.span.begin), line_end);
  std::uint32_t width = 0;
  if (end > l.span.begin)
    width = count_code_points(std::string_view(f.text()).substr(l.span.begin, end - l.span.begin));
  return {a.line, a.column, std::max<std::uint32_t>(width, 1), primary, l.text};
}

void render_snippet(std::string& out, const SourceFile& f, std::vector<Mark> marks, std::size_t gutter) {
  // Long lines are shown as a window around the first mark of the line (a one-line 15 MB recipe
  // must not print 15 MB per diagnostic).
  constexpr std::uint32_t kBefore = 60, kWindow = 160;
  std::stable_sort(marks.begin(), marks.end(), [](const Mark& a, const Mark& b) { return a.line < b.line; });
  const std::string pad(gutter, ' ');
  std::uint32_t last = 0, shift = 0;
  for (Mark m : marks) {
    if (m.line != last) {
      if (last != 0 && m.line > last + 1) out += "...\n";
      const std::string_view text = f.line_text(m.line);
      std::string shown;
      shift = 0;
      if (text.size() <= kWindow) {
        shown = display_line(text);
      } else {
        shift = m.col > kBefore ? m.col - 1 - kBefore : 0;
        const std::size_t from = byte_of(text, shift), to = byte_of(text, shift + kWindow);
        shown = (shift ? "…" : "") + display_line(text.substr(from, to - from)) + (to < text.size() ? "…" : "");
        if (shift) shift -= 1;  // the leading "…" takes one column
      }
      out += fmt::format("{:>{}} | {}\n", m.line, gutter, shown);
      last = m.line;
    }
    const std::uint32_t col = m.col > shift ? m.col - shift : 1;
    const std::uint32_t width = std::min(m.width, kWindow + 1);
    std::string under = std::string(col - 1, ' ') + std::string(width, m.primary ? '^' : '-');
    if (!m.text.empty()) under += " " + short_text(m.text);
    out += fmt::format("{} | {}\n", pad, under);
  }
}

}  // namespace

std::string render_full(const Diagnostic& d, const SourceMap& sources) {
  std::string out = fmt::format("{}[{}]: {}\n", severity_name(d.severity), d.code, short_text(d.message));
  // Group labels by file, the primary's file first.
  std::map<FileId, std::vector<Mark>> by_file;
  std::vector<FileId> order;
  std::uint32_t max_line = 1;
  for (std::size_t i = 0; i < d.labels.size(); ++i) {
    const Label& l = d.labels[i];
    const SourceFile& f = sources.file(l.span.file);
    if (!by_file.count(l.span.file)) order.push_back(l.span.file);
    Mark m = mark_for(f, l, i == 0);
    max_line = std::max(max_line, m.line);
    by_file[l.span.file].push_back(std::move(m));
  }
  const std::size_t gutter = std::to_string(max_line).size();
  const std::string pad(gutter, ' ');
  for (std::size_t i = 0; i < order.size(); ++i) {
    const FileId id = order[i];
    const Span& first = i == 0 ? d.primary() : d.labels[0].span;
    Span where = first;
    if (i != 0) {
      for (const Label& l : d.labels)
        if (l.span.file == id) {
          where = l.span;
          break;
        }
    }
    out += fmt::format("{}{} {}\n", pad, i == 0 ? "-->" : ":::", location(sources, where));
    out += pad + " |\n";
    render_snippet(out, sources.file(id), by_file[id], gutter);
  }
  if (d.help || !d.notes.empty()) out += pad + " |\n";
  for (const auto& n : d.notes) out += fmt::format("{} = note: {}\n", pad, short_text(n));
  if (d.help) out += fmt::format("{} = help: {}\n", pad, short_text(*d.help));
  return printable(std::move(out));
}

std::string render_concise(const Diagnostic& d, const SourceMap& sources) {
  std::string out = fmt::format("{}: {}[{}]: {}", location(sources, d.primary()), severity_name(d.severity), d.code,
                                short_text(d.message));
  if (d.help) out += fmt::format(" (help: {})", short_text(*d.help));
  std::string one = printable(std::move(out));
  std::replace(one.begin(), one.end(), '\n', ' ');  // one line per diagnostic
  return one;
}

std::string render_json(const std::vector<Diagnostic>& ds, const SourceMap& sources) {
  auto span_json = [&](const Span& s, nlohmann::json& j) {
    const SourceFile& f = sources.file(s.file);
    LineCol a = f.line_col(s.begin);
    LineCol b = f.line_col(s.end);
    j["file"] = f.name();
    j["line"] = a.line;
    j["column"] = a.column;
    j["end_line"] = b.line;
    j["end_column"] = b.column;
  };
  nlohmann::json arr = nlohmann::json::array();
  for (const Diagnostic& d : ds) {
    nlohmann::json j;
    j["code"] = d.code;
    const CodeInfo* info = find_code(d.code);
    j["name"] = info ? info->name : "";
    j["severity"] = severity_name(d.severity);
    span_json(d.primary(), j);
    j["message"] = d.message;
    j["help"] = d.help ? nlohmann::json(*d.help) : nlohmann::json(nullptr);
    j["notes"] = d.notes;
    nlohmann::json labels = nlohmann::json::array();
    for (std::size_t i = 0; i < d.labels.size(); ++i) {
      nlohmann::json l;
      span_json(d.labels[i].span, l);
      l["text"] = d.labels[i].text;
      l["primary"] = i == 0;
      labels.push_back(std::move(l));
    }
    j["labels"] = std::move(labels);
    arr.push_back(std::move(j));
  }
  return arr.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";  // bytes that are not UTF-8 shown as U+FFFD
}

}  // namespace whittle::lang
