// The front-end driver and the `# whittle: allow(...)` directives.
#include "lang/analyze.h"

#include "lang/files.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "lang/codes.h"
#include "lang/lint/lint.h"
#include "lang/suggest.h"

namespace whittle::lang {
namespace {

/// Codes a missing statement (after a syntax error) can cause; not reported when there are syntax errors.
bool consequential(const std::string& code) {
  return code == "E0104" || code == "E0301" || code == "E0302" || code == "E0303";
}

/// The names in `# whittle: allow(a, b)`, or nothing if the comment is not such a directive.
std::optional<std::string> allow_list(const std::string& comment) {
  std::size_t i = 1;  // past '#'
  auto skip = [&] {
    while (i < comment.size() && (comment[i] == ' ' || comment[i] == '\t')) ++i;
  };
  auto word = [&](const char* w) {
    const std::size_t n = std::strlen(w);
    if (comment.compare(i, n, w) != 0) return false;
    i += n;
    return true;
  };
  skip();
  if (!word("whittle:")) return std::nullopt;
  skip();
  if (!word("allow(")) return std::nullopt;
  const std::size_t close = comment.find(')', i);
  if (close == std::string::npos) return std::nullopt;
  return comment.substr(i, close - i);
}

struct LineRange {
  std::uint32_t first, last;
};

void statements_starting_at(const std::vector<ast::Stmt>& stmts, const SourceFile& f, std::uint32_t line,
                            std::vector<LineRange>& out) {
  for (const ast::Stmt& s : stmts) {
    const std::uint32_t a = f.line_of(s.span.begin);
    const std::uint32_t b = f.line_of(s.span.end > s.span.begin ? s.span.end - 1 : s.span.begin);
    if (a == line) out.push_back({a, b});
    if (a <= line && line <= b) statements_starting_at(s.body, f, line, out);
  }
}

}  // namespace

void apply_allow_directives(const LoadedProgram& program, const SourceMap& sources, Diagnostics& diags) {
  struct Allow {
    FileId file;
    LineRange lines;
    std::string code;
  };
  std::vector<Allow> allows;
  std::vector<std::string> lint_names;
  for (const CodeInfo& c : all_codes())
    if (c.severity != Severity::Error) lint_names.push_back(c.name);
  for (const auto& m : program.modules) {
    const SourceFile& f = sources.file(m->file);
    for (const ast::Comment& c : m->recipe.comments) {
      const std::optional<std::string> listed = allow_list(c.text);
      if (!listed) continue;
      std::uint32_t target = f.line_of(c.span.begin);
      if (!c.trailing) {  // applies to the next line that holds code
        for (std::uint32_t l = target + 1; l <= f.line_count(); ++l) {
          std::string_view t = f.line_text(l);
          const auto p = t.find_first_not_of(" \t\r");
          if (p != std::string_view::npos && t[p] != '#') {
            target = l;
            break;
          }
        }
      }
      std::vector<LineRange> ranges;
      statements_starting_at(m->recipe.stmts, f, target, ranges);
      if (ranges.empty()) ranges.push_back({target, target});
      std::stringstream names(*listed);
      std::string name;
      while (std::getline(names, name, ',')) {
        name.erase(0, name.find_first_not_of(" \t"));
        name.erase(name.find_last_not_of(" \t") + 1);
        const CodeInfo* info = find_code(name);
        if (!info || info->severity == Severity::Error) {
          auto d = Diagnostic::make("W0006", c.span, fmt::format("`{}` is not a lint that can be allowed", name),
                                    "unknown lint");
          if (info)
            d.with_help("errors cannot be silenced; fix the recipe instead");
          else if (auto h = did_you_mean(name, lint_names))
            d.with_help(*h);
          else
            d.with_help("`whittle explain` lists the lints");
          diags.add(std::move(d));
          continue;
        }
        for (const LineRange& r : ranges) allows.push_back({m->file, r, info->code});
      }
    }
  }
  if (allows.empty()) return;
  auto& all = diags.all();
  all.erase(
      std::remove_if(all.begin(), all.end(),
                     [&](const Diagnostic& d) {
                       if (d.severity == Severity::Error) return false;
                       const Span& s = d.primary();
                       const std::uint32_t line = sources.file(s.file).line_of(s.begin);
                       for (const Allow& a : allows)
                         if (a.file == s.file && a.code == d.code && a.lines.first <= line && line <= a.lines.last)
                           return true;
                       return false;
                     }),
      all.end());
}

std::unique_ptr<Analysis> analyze(const std::string& name, std::string text, const CheckOptions& options,
                                  const Catalog& catalog) {
  auto a = std::make_unique<Analysis>();
  a->main = a->sources.add(name, std::move(text));
  a->overrides = options.overrides;
  a->program = load_program(a->sources, a->main, catalog, a->diags, options.confine_to, options.overlay);
  Diagnostics checked;
  a->recipe = check(a->program, catalog, a->sources, checked, options);
  for (const Diagnostic& d : checked.all())
    if (!a->program.syntax_errors || !consequential(d.code)) a->diags.add(d);
  if (!a->program.syntax_errors) lint::run_all(a->program, a->recipe, a->sources, a->diags);
  apply_allow_directives(a->program, a->sources, a->diags);
  a->diags.sort();
  return a;
}

std::unique_ptr<Analysis> analyze_file(const std::string& path, const CheckOptions& options, const Catalog& catalog) {
  std::string error;
  auto text = read_regular_file(path, kMaxFileBytes, error);
  if (!text) {
    auto a = std::make_unique<Analysis>();
    a->main = a->sources.add(path, "");
    a->diags.add(Diagnostic::make("E0106", Span{a->main, 0, 0}, error, "not read")
                     .with_help("a recipe is a regular text file of at most 16 MiB"));
    return a;
  }
  return analyze(path, std::move(*text), options, catalog);
}

}  // namespace whittle::lang
