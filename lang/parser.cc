// The parser driver: PEGTL over grammar.h, with a control that raises SyntaxError at commit points
// and two custom rules that turn a failed statement into a diagnostic and skip to the next one.
#include "lang/parser.h"

#include <fmt/format.h>

#include <cctype>
#include <string_view>
#include <tao/pegtl/contrib/parse_tree.hpp>

#include "lang/grammar.h"
#include "lang/parse_tree_build.h"
#include "lang/syntax_errors.h"

namespace whittle::lang {
namespace pg = tao::pegtl;
namespace {

struct SyntaxError {
  grammar::Expectation what;
  const char* at;
};

/// Per-parse state shared by the recovery rules.
struct ParseState {
  const SourceFile& src;
  FileId file;
  Diagnostics& diags;
  const char* base;
  bool error_recorded = false;
  const char* error_at = nullptr;
  std::size_t errors = 0;  ///< syntax errors met so far
};

/// Syntax errors reported per file, as compilers cap them (clang's -ferror-limit): past this the
/// rest are consequences of the first, and each costs a scan of the text.
constexpr std::size_t kMaxSyntaxErrors = 100;

template <typename Rule>
struct control : pg::normal<Rule> {
  template <typename ParseInput, typename... States>
  [[noreturn]] static void raise(const ParseInput& in, States&&...) {
    throw SyntaxError{grammar::expectation<Rule>, in.current()};
  }
};

inline ParseState* pick(ParseState& s, ParseState*) { return &s; }
template <typename T>
ParseState* pick(T&, ParseState* p) {
  return p;
}
template <typename... S>
ParseState& state_of(S&... s) {
  ParseState* p = nullptr;
  ((p = pick(s, p)), ...);
  return *p;
}

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

/// The token at `at`, for "found ..." in messages, and its length in bytes.
std::pair<std::string, std::uint32_t> found_at(std::string_view text, std::uint32_t at) {
  if (at >= text.size()) return {"the end of the file", 0};
  const char c = text[at];
  if (c == '\n' || c == '\r') return {"the end of the line", 0};
  if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
    return {fmt::format("the control character U+{:04X}", static_cast<unsigned>(static_cast<unsigned char>(c))), 1};
  std::uint32_t n = 1;
  if (ident_char(c)) {
    while (at + n < text.size() && ident_char(text[at + n])) ++n;
  } else {
    while (at + n < text.size() && (static_cast<unsigned char>(text[at + n]) & 0xC0) == 0x80) ++n;
  }
  return {fmt::format("`{}`", text.substr(at, n)), n};
}

/// The innermost bracket of kind `open` that is still open at `at` (strings and comments skipped).
std::optional<std::uint32_t> unclosed_opener(std::string_view text, std::uint32_t at, char open, char close) {
  std::vector<std::uint32_t> stack;
  bool in_string = false;
  for (std::uint32_t i = 0; i < at && i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"' || c == '\n')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '#') {
      while (i + 1 < at && text[i + 1] != '\n') ++i;
    } else if (c == open) {
      stack.push_back(i);
    } else if (c == close && !stack.empty()) {
      stack.pop_back();
    }
  }
  if (stack.empty()) return std::nullopt;
  return stack.back();
}

void record(ParseState& ps, const SyntaxError& e) {
  const std::string_view text = ps.src.text();
  auto at = static_cast<std::uint32_t>(e.at - ps.base);
  ps.error_recorded = true;
  ps.error_at = e.at;
  if (++ps.errors > kMaxSyntaxErrors) {
    if (ps.errors == kMaxSyntaxErrors + 1)
      ps.diags.add(Diagnostic::make(
                       "E0001",
                       Span{ps.file, std::min<std::uint32_t>(at, static_cast<std::uint32_t>(text.size())),
                            std::min<std::uint32_t>(at, static_cast<std::uint32_t>(text.size()))},
                       fmt::format("more than {} syntax errors: whittle stops reporting them here", kMaxSyntaxErrors),
                       "stopped here")
                       .with_help("fix the errors above first: many of the rest follow from them"));
    return;
  }
  auto [found, len] = found_at(text, at);
  // At the end of the file, point just after the last thing written rather than past the blank lines.
  if (at >= text.size())
    while (at > 0 && std::isspace(static_cast<unsigned char>(text[at - 1]))) --at;
  Diagnostic d = Diagnostic::make(e.what.code, Span{ps.file, at, at + len},
                                  fmt::format("expected {}, found {}", e.what.expected, found),
                                  fmt::format("expected {}", e.what.expected));
  if (e.what.help) d.with_help(e.what.help);
  const std::string_view expected = e.what.expected;
  const std::pair<char, char> pairs[] = {{'{', '}'}, {'(', ')'}, {'[', ']'}};
  for (auto [open, close] : pairs) {
    if (std::string(d.code) == "E0002" && expected.find(close) != std::string_view::npos) {
      if (auto o = unclosed_opener(text, at, open, close))
        d.with_label(Span{ps.file, *o, *o + 1}, fmt::format("this `{}` is not closed", open));
    }
  }
  if (std::string(d.code) == "E0002" && at >= text.find_last_not_of(" \t\r\n") && d.labels.size() == 2) {
    // The file ends inside a bracket: the bracket is the place to look.
    std::swap(d.labels[0], d.labels[1]);
    d.labels[0].text = "this is never closed";
    d.labels[1].text = "the file ends here";
  }
  if (std::string(d.code) == "E0004") {
    std::uint32_t q = at;
    while (q > 0 && text[q - 1] != '"') --q;
    if (q > 0) d.labels[0] = Label{Span{ps.file, q - 1, at}, "this string is never closed"};
  }
  ps.diags.add(std::move(d));
}

/// Matches Rule; a SyntaxError inside it is recorded and turned into a local failure.
template <typename Rule>
struct recovering {
  using rule_t = recovering;
  using subs_t = pg::type_list<Rule>;
  template <pg::apply_mode A, pg::rewind_mode M, template <typename...> class Action,
            template <typename...> class Control, typename ParseInput, typename... States>
  static bool match(ParseInput& in, States&&... st) {
    auto m = in.template mark<pg::rewind_mode::required>();
    try {
      return m(Control<Rule>::template match<A, pg::rewind_mode::active, Action, Control>(in, st...));
    } catch (const SyntaxError& e) {
      record(state_of(st...), e);
      return false;
    }
  }
};

/// Skips what a failed statement left: up to its error, then to the end of the line (a `{ }` block
/// opened on the way is skipped whole). Reports input that no statement could start with.
struct recover {
  using rule_t = recover;
  using subs_t = pg::empty_list;
  template <pg::apply_mode A, pg::rewind_mode M, template <typename...> class Action,
            template <typename...> class Control, typename ParseInput, typename... States>
  static bool match(ParseInput& in, States&&... st) {
    ParseState& ps = state_of(st...);
    const char* p = in.current();
    const char* end = in.end();
    if (p == end) return false;
    if (!ps.error_recorded) {
      const auto at = static_cast<std::uint32_t>(p - ps.base);
      auto [found, len] = found_at(ps.src.text(), at);
      ps.diags.add(Diagnostic::make("E0001", Span{ps.file, at, at + std::max<std::uint32_t>(len, 1)},
                                    fmt::format("expected a statement, found {}", found), "not a statement")
                       .with_help("a statement starts with a stage name (`train`, `prune`, ...) or one of "
                                  "`recipe`, `let`, `use`, `seed`, `from`, `repeat`, `sweep`, `search`, `choose`, "
                                  "`define`, `network`"));
      ps.error_at = p + 1;
    }
    ps.error_recorded = false;
    const char* stop = std::max(ps.error_at ? ps.error_at : p, p + 1);
    std::size_t n = 0;
    int braces = 0;
    bool in_string = false;
    for (; p + n < end; ++n) {
      const char c = p[n];
      const bool past_error = p + n >= stop;
      if (in_string) {
        if (c == '\\' && p + n + 1 < end && p[n + 1] != '\n') {
          ++n;
          continue;
        }
        if (c == '"') in_string = false;
        if (c != '\n') continue;
        in_string = false;  // a string never crosses a line: handle the newline below
      }
      if (c == '"')
        in_string = true;
      else if (c == '#') {
        while (p + n + 1 < end && p[n + 1] != '\n') ++n;
      } else if (c == '{')
        ++braces;
      else if (c == '}') {
        if (braces == 0 && n > 0 && past_error) break;
        if (braces > 0) --braces;
      } else if ((c == '\n' || c == ';') && braces == 0 && past_error) {
        ++n;
        break;
      }
    }
    in.bump(std::max<std::size_t>(n, 1));
    return true;
  }
};

/// Files whose brackets nest deeper than this are refused before parsing, so that neither the
/// parser nor the checker can run out of stack.
constexpr int kMaxNesting = 64;

std::optional<std::uint32_t> too_deep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (std::uint32_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"' || c == '\n')
        in_string = false;
    } else if (c == '"')
      in_string = true;
    else if (c == '#') {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
    } else if (c == '(' || c == '[' || c == '{') {
      if (++depth > kMaxNesting) return i;
    } else if ((c == ')' || c == ']' || c == '}') && depth > 0)
      --depth;
  }
  return std::nullopt;
}

}  // namespace

}  // namespace whittle::lang

namespace whittle::lang::grammar {
struct stmt_or_recover : sor<recovering<statement>, recover> {};

template <typename Rule>
using selector = pg::parse_tree::selector<
    Rule,
    pg::parse_tree::store_content::on<
        recipe_stmt, let_stmt, use_stmt, seed_stmt, from_stmt, repeat_stmt, sweep_stmt, define_stmt, network_stmt,
        chain, search_stmt, search_objective, search_metric, search_op, search_bar, search_arg, choose_stmt, choose_var,
        choose_values, choose_monotone, network_name, network_params, layer_block, call_args, arith_parens, add_op,
        mul_op, recipe_name, let_name, let_value, use_path, seed_value, from_ref, repeat_count, sweep_var, sweep_values,
        define_name, param, param_name, type_spec, type_word, param_default, block, stage, next_stage, stage_name,
        block_args, as_name, named_arg, block_arg, arg_name, arg_value, value, range_to, range_step, string_lit,
        string_body, boolean, kw_true, ref, ref_name, list, call_or_word, word_name, paren_args, numeric, number, unit>,
    pg::parse_tree::fold_one::on<arith_sum, arith_product, arith_term>>;
}  // namespace whittle::lang::grammar

namespace whittle::lang {

std::optional<ast::Value> parse_value(const SourceMap& sources, FileId file, Diagnostics& diags) {
  const SourceFile& src = sources.file(file);
  const std::string& text = src.text();
  if (too_deep(text)) {
    diags.add(Diagnostic::make("E0001", Span{file, 0, 0}, "the value nests too deeply", "too deep"));
    return std::nullopt;
  }
  pg::memory_input<pg::tracking_mode::lazy> in(text.data(), text.size(), src.name());
  ParseState state{src, file, diags, text.data()};
  try {
    auto root =
        pg::parse_tree::parse<grammar::value_only, ParseNode, grammar::selector, pg::nothing, control>(in, state);
    if (!root || root->children.empty()) {
      diags.add(Diagnostic::make("E0003", Span{file, 0, static_cast<std::uint32_t>(text.size())}, "expected a value",
                                 "not a value"));
      return std::nullopt;
    }
    return build_value(*root->children.front(), file, text.data());
  } catch (const SyntaxError& e) {
    record(state, e);
    return std::nullopt;
  }
}

ast::Recipe parse(const SourceMap& sources, FileId file, Diagnostics& diags) {
  const SourceFile& src = sources.file(file);
  const std::string& text = src.text();
  if (auto at = too_deep(text)) {
    diags.add(Diagnostic::make("E0001", Span{file, *at, *at + 1},
                               fmt::format("brackets nest more than {} levels deep here", kMaxNesting), "too deep")
                  .with_help("split the value into `let` definitions"));
    return ast::Recipe{file, {}, scan_comments(text, file)};
  }
  pg::memory_input<pg::tracking_mode::lazy> in(text.data(), text.size(), src.name());
  ParseState state{src, file, diags, text.data()};
  auto root = pg::parse_tree::parse<grammar::file, ParseNode, grammar::selector, pg::nothing, control>(in, state);
  ast::Recipe r = root ? build_ast(*root, file, text.data()) : ast::Recipe{file, {}, {}};
  r.comments = scan_comments(text, file);
  return r;
}

}  // namespace whittle::lang
