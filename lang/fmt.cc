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

std::string format_arg(const ast::Arg& a) { return a.named ? a.name + ": " + format_value(a.value) : format_value(a.value); }

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
        std::lower_bound(r_.comments.begin(), r_.comments.end(), offset, [](const ast::Comment& c, std::uint32_t o) { return c.span.begin < o; }) -
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
    for (std::size_t i = first_at(f_.line_start(l)); i < r_.comments.size() && line(r_.comments[i].span.begin) == l; ++i) {
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

  std::string stage(const ast::Stage& st, int ind, std::vector<std::string>& block_lines) {
    std::string s = st.name;
    std::vector<const ast::Arg*> inline_args, block_args;
    for (const ast::Arg& a : st.args) (st.has_block && a.named ? block_args : inline_args).push_back(&a);
    for (const ast::Arg* a : inline_args) s += " " + format_arg(*a);
    if (st.has_block) {
      s += " {";
      for (const ast::Arg* a : block_args) block_lines.push_back(indent(ind + 1) + format_arg(*a) + trailing(line(a->span.begin)));
    }
    return s;
  }

  void stmt(const ast::Stmt& s, int ind, std::uint32_t& prev) {
    using K = ast::Stmt::Kind;
    const std::uint32_t first = line(s.span.begin);
    std::string head;
    switch (s.kind) {
      case K::Recipe: head = "recipe " + s.name; break;
      case K::Let: head = "let " + s.name + " = " + format_value(s.value); break;
      case K::Use: head = "use " + ast::quote(s.value.text); break;
      case K::Seed: head = "seed " + format_value(s.value); break;
      case K::From: head = "from " + format_value(s.value); break;
      case K::Repeat: head = "repeat " + format_value(s.value); break;
      case K::Sweep: head = "sweep " + s.name + " in " + format_value(s.value); break;
      case K::Define: {
        head = "define " + s.name + "(";
        for (std::size_t i = 0; i < s.params.size(); ++i) {
          const ast::Param& p = s.params[i];
          head += (i ? ", " : "") + p.name + ": ";
          for (std::size_t w = 0; w < p.type.words.size(); ++w) head += (w ? "|" : "") + p.type.words[w];
          if (p.has_default) head += " = " + format_value(p.default_value);
        }
        head += ")";
        break;
      }
      case K::Chain: break;
    }
    if (s.kind == K::Chain) {
      // Comments inside a multi-line chain would be lost when it is joined: they move above it.
      std::string tail = trailing(first);
      std::vector<std::vector<std::string>> blocks(s.chain.size());
      std::vector<std::string> parts;
      for (std::size_t i = 0; i < s.chain.size(); ++i) parts.push_back(stage(s.chain[i], ind, blocks[i]));
      emit_moved_comments(s, ind, prev);
      std::string text;
      for (std::size_t i = 0; i < s.chain.size(); ++i) {
        const ast::Stage& st = s.chain[i];
        if (i) text += " -> ";
        text += parts[i];
        if (st.has_block) {  // a `{ }` block ends the line; the chain goes on after its `}`
          out_ += indent(ind) + text + tail + "\n";
          tail.clear();
          for (const auto& l : blocks[i]) out_ += l + "\n";
          text = "}";
        }
        if (!st.as_name.empty()) text += " as " + st.as_name;
      }
      out_ += indent(ind) + text + tail + "\n";
      prev = line(s.span.end > s.span.begin ? s.span.end - 1 : s.span.begin);
      return;
    }
    const bool has_block = s.kind == K::Repeat || s.kind == K::Sweep || s.kind == K::Define;
    const std::string tail = trailing(first);
    if (!has_block) {
      emit_moved_comments(s, ind, prev);
      out_ += indent(ind) + head + tail + "\n";
      prev = line(s.span.end > s.span.begin ? s.span.end - 1 : s.span.begin);
      return;
    }
    // Comments inside the header (a multi-line parameter list) move above it.
    for (std::size_t i = first_at(s.span.begin + 1); i < r_.comments.size() && r_.comments[i].span.begin < s.body_span.begin; ++i) {
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

  /// A chain statement as one line of text, if it has no `{ }` argument block.
  static std::optional<std::string> plain_chain(const ast::Stmt& s) {
    if (s.kind != ast::Stmt::Kind::Chain) return std::nullopt;
    std::string text;
    for (std::size_t i = 0; i < s.chain.size(); ++i) {
      const ast::Stage& st = s.chain[i];
      if (st.has_block) return std::nullopt;
      if (i) text += " -> ";
      text += st.name;
      for (const ast::Arg& a : st.args) text += " " + format_arg(a);
      if (!st.as_name.empty()) text += " as " + st.as_name;
    }
    return text;
  }

  bool has_comment_in(Span sp) const {
    for (std::size_t i = first_at(sp.begin + 1); i < r_.comments.size() && r_.comments[i].span.begin < sp.end; ++i)
      if (!used_[i]) return true;
    return false;
  }

  /// Comments inside a single-line statement's span that would be lost when it is joined onto one
  /// line: printed above it.
  void emit_moved_comments(const ast::Stmt& s, int ind, std::uint32_t& prev) {
    for (std::size_t i = first_at(s.span.begin + 1); i < r_.comments.size() && r_.comments[i].span.begin < s.span.end; ++i) {
      const ast::Comment& c = r_.comments[i];
      if (!used_[i]) {
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

std::string format_value(const ast::Value& v) {
  using K = ast::Value::Kind;
  switch (v.kind) {
    case K::Number: return v.text;
    case K::Quantity:
      if (v.unit == ast::Unit::Percent) return v.text + "%";
      if (v.unit == ast::Unit::Epochs) return v.text + (v.number == 1 ? " epoch" : " epochs");
      return v.text + (v.number == 1 ? " bit" : " bits");
    case K::String: return ast::quote(v.text);
    case K::Bool: return v.boolean ? "true" : "false";
    case K::Word: return v.text;
    case K::Ref: return "$" + v.text;
    case K::Call: return v.text + "(" + join_args(v.args) + ")";
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
