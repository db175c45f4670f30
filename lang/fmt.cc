// The formatter. Layout rules: one statement per line, two-space indentation inside blocks, single
// spaces between arguments, `key: value`, lists and calls as `[a, b]` / `f(a: 1)`, chains kept on
// one line with ` -> `, a stage's `{ }` block with one named argument per line, at most one blank
// line between statements, two spaces before a trailing comment, one newline at the end.
#include "lang/fmt.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace whittle::lang {
namespace {

std::string format_arg(const ast::Arg& a) {
  return a.named ? a.name + ": " + format_value(a.value) : format_value(a.value);
}

std::string join_args(const std::vector<ast::Arg>& args) {
  std::string s;
  for (std::size_t i = 0; i < args.size(); ++i) s += (i ? ", " : "") + format_arg(args[i]);
  return s;
}

class Formatter {
 public:
  Formatter(const ast::Recipe& r, const SourceFile& f) : r_(r), f_(f), used_(r.comments.size(), false) {}

  std::string run() {
    std::uint32_t prev = 0;
    stmts(r_.stmts, 0, prev);
    comments_before(static_cast<std::uint32_t>(f_.text().size()) + 1, 0, prev);
    while (!out_.empty() && out_.back() == '\n') out_.pop_back();
    return out_.empty() ? out_ : out_ + "\n";
  }

 private:
  std::uint32_t line(std::uint32_t offset) const { return f_.line_of(offset); }
  static std::string indent(int n) { return std::string(static_cast<std::size_t>(n) * 2, ' '); }

  void blank_if_gap(std::uint32_t start_line, std::uint32_t& prev) {
    if (prev != 0 && start_line > prev + 1 && !out_.empty()) out_ += "\n";
  }

  // Comments are in source order, so each lookup below visits only the comments of its range:
  // formatting stays linear in the recipe's length (a 10,000-line recipe with a comment per line).

  /// The first comment that begins at or after `offset`.
  std::size_t first_at(std::uint32_t offset) const {
    return static_cast<std::size_t>(
        std::lower_bound(r_.comments.begin(), r_.comments.end(), offset,
                         [](const ast::Comment& c, std::uint32_t o) { return c.span.begin < o; }) -
        r_.comments.begin());
  }

  /// Standalone comments (and any unclaimed comment) that begin before `offset`.
  void comments_before(std::uint32_t offset, int ind, std::uint32_t& prev) {
    while (first_unused_ < used_.size() && used_[first_unused_]) ++first_unused_;
    for (std::size_t i = first_unused_; i < r_.comments.size(); ++i) {
      const ast::Comment& c = r_.comments[i];
      if (c.span.begin >= offset) break;
      if (used_[i]) continue;
      used_[i] = true;
      const std::uint32_t l = line(c.span.begin);
      blank_if_gap(l, prev);
      out_ += indent(ind) + c.text + "\n";
      prev = l;
    }
  }

  /// The trailing comment on a source line, claimed.
  std::string trailing(std::uint32_t l) {
    if (l < 1 || l > f_.line_count()) return "";
    for (std::size_t i = first_at(f_.line_start(l)); i < r_.comments.size() && line(r_.comments[i].span.begin) == l;
         ++i) {
      const ast::Comment& c = r_.comments[i];
      if (!used_[i] && c.trailing) {
        used_[i] = true;
        return "  " + c.text;
      }
    }
    return "";
  }

  void stmts(const std::vector<ast::Stmt>& list, int ind, std::uint32_t& prev) {
    for (const ast::Stmt& s : list) {
      comments_before(s.span.begin, ind, prev);
      blank_if_gap(line(s.span.begin), prev);
      stmt(s, ind, prev);
    }
  }

  /// A stage's name and the arguments before any block: `conv 64 channels`, `block(growth: 4)`.
  static std::string stage_head(const ast::Stage& st) {
    if (st.call) return st.name + "(" + join_args(st.args) + ")";
    std::string s = st.name;
    const std::size_t before = st.has_body ? st.args_before_body : st.args.size();
    for (std::size_t i = 0; i < before; ++i)
      if (!(st.has_block && st.args[i].named)) s += " " + format_arg(st.args[i]);
    return s;
  }

  /// The arguments written after a layer block: `} shortcut: projection`.
  static std::string stage_tail(const ast::Stage& st) {
    std::string s;
    if (st.has_body && !st.call)
      for (std::size_t i = st.args_before_body; i < st.args.size(); ++i) s += " " + format_arg(st.args[i]);
    return s;
  }

  void stmt(const ast::Stmt& s, int ind, std::uint32_t& prev) {
    using K = ast::Stmt::Kind;
    const std::uint32_t first = line(s.span.begin);
    std::string head;
    switch (s.kind) {
      case K::Recipe:
        head = "recipe " + s.name;
        break;
      case K::Let:
        head = "let " + s.name + " = " + format_value(s.value);
        break;
      case K::Use:
        head = "use " + ast::quote(s.value.text);
        break;
      case K::Seed:
        head = "seed " + format_value(s.value);
        break;
      case K::From:
        head = "from " + format_value(s.value);
        break;
      case K::Repeat:
        head = "repeat " + format_value(s.value);
        break;
      case K::Sweep:
        head = "sweep " + s.name + " in " + format_value(s.value);
        break;
      case K::Search:
        head = "search lowest " + s.name + " where " + s.metric + " " + s.op + " " + format_value(s.value);
        for (const ast::Arg& a : s.args) head += " " + format_arg(a);
        if (!s.as_name.empty()) head += " as " + s.as_name;
        break;
      case K::Choose:
        head = "choose " + s.name + " in " + format_value(s.value) + (s.flag ? " monotone" : "");
        break;
      case K::Define:
      case K::Network: {
        head = (s.kind == K::Define ? "define " : "network ") + s.name;
        if (s.kind == K::Network && !s.has_params) break;
        head += "(";
        for (std::size_t i = 0; i < s.params.size(); ++i) {
          const ast::Param& p = s.params[i];
          head += (i ? ", " : "") + p.name + ": ";
          for (std::size_t w = 0; w < p.type.words.size(); ++w) head += (w ? "|" : "") + p.type.words[w];
          if (p.has_default) head += " = " + format_value(p.default_value);
        }
        head += ")";
        break;
      }
      case K::Chain:
        break;
    }
    if (s.kind == K::Chain) {
      // Comments inside a multi-line chain would be lost when it is joined: they move above it
      // (those inside a layer block stay in it).
      std::string tail = trailing(first);
      emit_moved_comments(s, ind, prev);
      std::string text;
      for (std::size_t i = 0; i < s.chain.size(); ++i) {
        const ast::Stage& st = s.chain[i];
        if (i) text += " -> ";
        text += stage_head(st);
        if (st.has_block) {  // a `{ }` block ends the line; the chain goes on after its `}`
          out_ += indent(ind) + text + " {" + tail + "\n";
          tail.clear();
          for (const ast::Arg& a : st.args)
            if (a.named) out_ += indent(ind + 1) + format_arg(a) + trailing(line(a.span.begin)) + "\n";
          text = "}";
        } else if (st.has_body) {
          auto one = !has_comment_in(st.body_span) ? plain_body(st) : std::nullopt;
          if (one && indent(ind).size() + text.size() + one->size() + 3 <= kMaxWidth) {
            text += " " + *one;
          } else {
            out_ += indent(ind) + text + " {" + tail + trailing(line(st.body_span.begin)) + "\n";
            tail.clear();
            std::uint32_t inner = line(st.body_span.begin);
            stmts(st.body, ind + 1, inner);
            comments_before(st.body_span.end - 1, ind + 1, inner);
            text = "}";
          }
          text += stage_tail(st);
        }
        if (!st.as_name.empty()) text += " as " + st.as_name;
      }
      out_ += indent(ind) + text + tail + "\n";
      prev = line(s.span.end > s.span.begin ? s.span.end - 1 : s.span.begin);
      return;
    }
    const bool has_block =
        s.kind == K::Repeat || s.kind == K::Sweep || s.kind == K::Search || s.kind == K::Define || s.kind == K::Network;
    const std::string tail = trailing(first);
    if (!has_block) {
      emit_moved_comments(s, ind, prev);
      out_ += indent(ind) + head + tail + "\n";
      prev = line(s.span.end > s.span.begin ? s.span.end - 1 : s.span.begin);
      return;
    }
    // Comments inside the header (a multi-line parameter list) move above it.
    for (std::size_t i = first_at(s.span.begin + 1);
         i < r_.comments.size() && r_.comments[i].span.begin < s.body_span.begin; ++i) {
      const ast::Comment& c = r_.comments[i];
      if (!used_[i]) {
        used_[i] = true;
        out_ += indent(ind) + c.text + "\n";
      }
    }
    const std::uint32_t open_line = line(s.body_span.begin);
    const std::string open_tail = open_line != first ? trailing(open_line) : "";
    // A block of one plain chain stays on one line when it fits: `sweep p in [...] { prune $p -> evaluate }`.
    if (s.body.size() == 1 && !has_comment_in(s.body_span)) {
      if (auto inner = plain_chain(s.body[0])) {
        const std::string one = indent(ind) + head + " { " + *inner + " }";
        if (one.size() <= kMaxWidth) {
          out_ += one + tail + open_tail + trailing(line(s.body_span.end - 1)) + "\n";
          prev = line(s.span.end > s.span.begin ? s.span.end - 1 : s.span.begin);
          return;
        }
      }
    }
    if (s.body.empty() && !has_comment_in(s.body_span)) {
      out_ += indent(ind) + head + " {}" + tail + open_tail + "\n";
    } else {
      out_ += indent(ind) + head + " {" + tail + open_tail + "\n";
      std::uint32_t inner = open_line;
      stmts(s.body, ind + 1, inner);
      comments_before(s.body_span.end - 1, ind + 1, inner);
      out_ += indent(ind) + "}" + trailing(line(s.body_span.end - 1)) + "\n";
    }
    prev = line(s.span.end > s.span.begin ? s.span.end - 1 : s.span.begin);
  }

  static constexpr std::size_t kMaxWidth = 100;

  /// A chain statement as one line of text, if it has no `{ }` argument block (layer blocks of one
  /// plain chain nest: `dense 6 { bn -> relu -> conv 8 channels }`).
  static std::optional<std::string> plain_chain(const ast::Stmt& s) {
    if (s.kind != ast::Stmt::Kind::Chain) return std::nullopt;
    std::string text;
    for (std::size_t i = 0; i < s.chain.size(); ++i) {
      const ast::Stage& st = s.chain[i];
      if (st.has_block) return std::nullopt;
      if (i) text += " -> ";
      text += stage_head(st);
      if (st.has_body) {
        auto inner = plain_body(st);
        if (!inner) return std::nullopt;
        text += " " + *inner + stage_tail(st);
      }
      if (!st.as_name.empty()) text += " as " + st.as_name;
    }
    return text;
  }

  /// A layer block on one line: `{ bn -> relu }`, `{}`; none when it holds more than one statement.
  static std::optional<std::string> plain_body(const ast::Stage& st) {
    if (st.body.empty()) return std::string("{}");
    if (st.body.size() != 1) return std::nullopt;
    auto inner = plain_chain(st.body[0]);
    if (!inner) return std::nullopt;
    return "{ " + *inner + " }";
  }

  bool has_comment_in(Span sp) const {
    for (std::size_t i = first_at(sp.begin + 1); i < r_.comments.size() && r_.comments[i].span.begin < sp.end; ++i)
      if (!used_[i]) return true;
    return false;
  }

  /// Comments inside a single-line statement's span that would be lost when it is joined onto one
  /// line: printed above it.
  void emit_moved_comments(const ast::Stmt& s, int ind, std::uint32_t& prev) {
    auto in_body = [&](std::uint32_t at) {
      for (const ast::Stage& st : s.chain)
        if (st.has_body && at > st.body_span.begin && at < st.body_span.end) return true;
      return false;
    };
    for (std::size_t i = first_at(s.span.begin + 1); i < r_.comments.size() && r_.comments[i].span.begin < s.span.end;
         ++i) {
      const ast::Comment& c = r_.comments[i];
      if (!used_[i] && !in_body(c.span.begin)) {
        used_[i] = true;
        out_ += indent(ind) + c.text + "\n";
      }
    }
    (void)prev;
  }

  const ast::Recipe& r_;
  const SourceFile& f_;
  std::vector<bool> used_;
  std::size_t first_unused_ = 0;  ///< every comment before it is used
  std::string out_;
};

}  // namespace

namespace {
/// An operand of arithmetic: its own unit is not printed (only the whole expression's is).
std::string format_value_bare(const ast::Value& v) {
  if (v.unit == ast::Unit::None || v.kind == ast::Value::Kind::Quantity) return format_value(v);
  ast::Value bare = v;
  bare.unit = ast::Unit::None;
  return format_value(bare);
}
}  // namespace

std::string format_value(const ast::Value& v) {
  using K = ast::Value::Kind;
  switch (v.kind) {
    case K::Number:
      return v.text;
    case K::Quantity:
      return v.text + ast::unit_suffix(v.unit, v.number);
    case K::Arith: {
      std::string s = v.text == "()" ? "(" + (v.items.empty() ? "" : format_value_bare(v.items[0])) + ")"
                      : v.items.size() == 2
                          ? format_value_bare(v.items[0]) + " " + v.text + " " + format_value_bare(v.items[1])
                          : "";
      return s + ast::unit_suffix(v.unit, 2);
    }
    case K::String:
      return ast::quote(v.text);
    case K::Bool:
      return v.boolean ? "true" : "false";
    case K::Word:
      return v.text;
    case K::Ref:
      return "$" + v.text + ast::unit_suffix(v.unit, 2);
    case K::Call:
      return v.text + "(" + join_args(v.args) + ")";
    case K::List: {
      std::string s = "[";
      for (std::size_t i = 0; i < v.items.size(); ++i) s += (i ? ", " : "") + format_value(v.items[i]);
      return s + "]";
    }
    case K::Range: {
      std::string s = format_value(v.items[0]) + ".." + format_value(v.items[1]);
      if (v.items.size() > 2) s += " by " + format_value(v.items[2]);
      return s;
    }
  }
  return "";
}

std::string format_recipe(const ast::Recipe& recipe, const SourceFile& file) { return Formatter(recipe, file).run(); }

}  // namespace whittle::lang
