// Parse tree → AST. The parse tree holds only the rules selected in parser.cc; this walks it.
#include <cstdlib>

#include "lang/grammar.h"
#include "lang/parse_tree_build.h"

namespace whittle::lang {
namespace g = grammar;
using Node = ParseNode;

namespace {

/// Free nodes, kept for reuse by the next parse on this thread.
struct NodePool {
  std::vector<void*> free;
  ~NodePool() {
    for (void* p : free) ::operator delete(p);
  }
};
thread_local NodePool pool;

}  // namespace

void* ParseNode::operator new(std::size_t size) {
  if (size == sizeof(ParseNode) && !pool.free.empty()) {
    void* p = pool.free.back();
    pool.free.pop_back();
    return p;
  }
  return ::operator new(size);
}

void ParseNode::operator delete(void* p, std::size_t size) noexcept {
  if (size == sizeof(ParseNode) && pool.free.size() < 4096) {
    try {
      pool.free.push_back(p);
      return;
    } catch (...) {
    }
  }
  ::operator delete(p);
}

namespace {

struct Builder {
  FileId file;
  const char* base;

  Span span(const Node& n) const {
    return {file, static_cast<std::uint32_t>(n.m_begin.data - base), static_cast<std::uint32_t>(n.m_end.data - base)};
  }

  static const Node* child(const Node& n, std::size_t i) {
    return i < n.children.size() ? n.children[i].get() : nullptr;
  }

  template <typename Rule>
  static const Node* find(const Node& n) {
    for (const auto& c : n.children)
      if (c->is_type<Rule>()) return c.get();
    return nullptr;
  }

  static std::string unescape(std::string_view raw) {
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size()) {
        const char e = raw[++i];
        out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
      } else {
        out += raw[i];
      }
    }
    return out;
  }

  static ast::Unit unit_of(std::string_view u) {
    if (u == "%") return ast::Unit::Percent;
    if (u == "epochs" || u == "epoch") return ast::Unit::Epochs;
    if (u == "channels" || u == "channel") return ast::Unit::Channels;
    if (u == "outputs" || u == "output") return ast::Unit::Outputs;
    return ast::Unit::Bits;
  }

  /// An arithmetic node: a number, a ref, parentheses, or a sum/product of operands and operators
  /// (folded to the left: `a - b - c` is `(a - b) - c`).
  ast::Value arith(const Node& n) const {
    if (n.is_type<g::number>()) {
      ast::Value v;
      v.span = span(n);
      v.text = n.string();
      v.number = std::strtod(v.text.c_str(), nullptr);
      return v;
    }
    if (n.is_type<g::ref>()) return scalar(n);
    ast::Value v;
    v.span = span(n);
    v.kind = ast::Value::Kind::Arith;
    if (n.is_type<g::arith_parens>()) {
      v.text = "()";
      if (const Node* inner = child(n, 0)) v.items.push_back(arith(*inner));
      return v;
    }
    if (n.children.empty()) return v;
    ast::Value acc = arith(*n.children[0]);
    for (std::size_t i = 1; i + 1 < n.children.size(); i += 2) {
      ast::Value op;
      op.kind = ast::Value::Kind::Arith;
      op.text = n.children[i]->string();
      ast::Value rhs = arith(*n.children[i + 1]);
      op.span = Span{file, acc.span.begin, rhs.span.end};
      op.items.push_back(std::move(acc));
      op.items.push_back(std::move(rhs));
      acc = std::move(op);
    }
    return acc;
  }

  /// A string_lit, boolean, ref, list, numeric or call_or_word node.
  ast::Value scalar(const Node& n) const {
    ast::Value v;
    v.span = span(n);
    if (n.is_type<g::string_lit>() || n.is_type<g::use_path>()) {
      v.kind = ast::Value::Kind::String;
      const Node* body = find<g::string_body>(n);
      v.text = body ? unescape(body->string_view()) : "";
    } else if (n.is_type<g::boolean>()) {
      v.kind = ast::Value::Kind::Bool;
      v.boolean = find<g::kw_true>(n) != nullptr;
      v.text = v.boolean ? "true" : "false";
    } else if (n.is_type<g::ref>() || n.is_type<g::from_ref>()) {
      v.kind = ast::Value::Kind::Ref;
      const Node* name = find<g::ref_name>(n);
      v.text = name ? name->string() : "";
    } else if (n.is_type<g::list>()) {
      v.kind = ast::Value::Kind::List;
      for (const auto& c : n.children) v.items.push_back(value(*c));
    } else if (n.is_type<g::numeric>() || n.is_type<g::seed_value>() || n.is_type<g::repeat_count>()) {
      const Node* first = child(n, 0);
      const Node* unit = find<g::unit>(n);
      if (first && !first->is_type<g::number>() && !first->is_type<g::unit>()) {
        v = arith(*first);
        v.span = span(n);
      } else {
        v.text = first && first->is_type<g::number>() ? first->string() : "0";
        v.number = std::strtod(v.text.c_str(), nullptr);
        v.kind = unit ? ast::Value::Kind::Quantity : ast::Value::Kind::Number;
      }
      if (unit) {
        v.unit_text = unit->string();
        v.unit = unit_of(v.unit_text);
      }
    } else if (n.is_type<g::call_or_word>()) {
      const Node* name = find<g::word_name>(n);
      v.text = name ? name->string() : "";
      const Node* args = find<g::paren_args>(n);
      v.kind = args ? ast::Value::Kind::Call : ast::Value::Kind::Word;
      if (args)
        for (const auto& c : args->children) v.args.push_back(arg(*c));
    }
    return v;
  }

  /// A value-like node: children are a scalar node, then optionally range_to and range_step.
  ast::Value value(const Node& n) const {
    const Node* first = child(n, 0);
    if (!first) {
      ast::Value zero;
      zero.span = span(n);
      zero.text = "0";
      return zero;
    }
    if (first->is_type<g::range_to>() || first->is_type<g::range_step>()) first = child(*first, 0);
    ast::Value v = scalar(*first);
    const Node* to = find<g::range_to>(n);
    if (to && child(*to, 0)) {
      ast::Value r;
      r.kind = ast::Value::Kind::Range;
      r.span = span(n);
      r.items.push_back(std::move(v));
      r.items.push_back(scalar(*child(*to, 0)));
      const Node* step = find<g::range_step>(n);
      if (step && child(*step, 0)) r.items.push_back(scalar(*child(*step, 0)));
      return r;
    }
    return v;
  }

  /// A named_arg / block_arg node, or a positional value node.
  ast::Arg arg(const Node& n) const {
    ast::Arg a;
    a.span = span(n);
    if (n.is_type<g::named_arg>() || n.is_type<g::block_arg>() || n.is_type<g::search_arg>()) {
      a.named = true;
      const Node* name = find<g::arg_name>(n);
      a.name = name ? name->string() : "";
      a.name_span = name ? span(*name) : a.span;
      const Node* val = find<g::arg_value>(n);
      if (val) a.value = value(*val);
    } else {
      a.value = value(n);
    }
    return a;
  }

  ast::Stage stage(const Node& n) const {
    ast::Stage s;
    s.span = span(n);
    for (const auto& c : n.children) {
      if (c->is_type<g::stage_name>()) {
        s.name = c->string();
        s.name_span = span(*c);
      } else if (c->is_type<g::call_args>()) {
        s.call = true;
        for (const auto& b : c->children) s.args.push_back(arg(*b));
      } else if (c->is_type<g::block_args>()) {
        s.has_block = true;
        for (const auto& b : c->children) s.args.push_back(arg(*b));
      } else if (c->is_type<g::layer_block>()) {
        s.has_body = true;
        s.body_span = span(*c);
        s.args_before_body = s.args.size();
        for (const auto& b : c->children) s.body.push_back(stmt(*b));
      } else if (c->is_type<g::as_name>()) {
        s.as_name = c->string();
        s.as_span = span(*c);
      } else {
        s.args.push_back(arg(*c));
      }
    }
    return s;
  }

  ast::Param param(const Node& n) const {
    ast::Param p;
    for (const auto& c : n.children) {
      if (c->is_type<g::param_name>()) {
        p.name = c->string();
        p.name_span = span(*c);
      } else if (c->is_type<g::type_spec>()) {
        p.type.span = span(*c);
        for (const auto& w : c->children) p.type.words.push_back(w->string());
      } else if (c->is_type<g::param_default>()) {
        p.has_default = true;
        p.default_value = value(*c);
      }
    }
    return p;
  }

  void body(const Node& block, ast::Stmt& s) const {
    s.body_span = span(block);
    for (const auto& c : block.children) s.body.push_back(stmt(*c));
  }

  ast::Stmt stmt(const Node& n) const {
    using K = ast::Stmt::Kind;
    ast::Stmt s;
    s.span = span(n);
    auto set_name = [&](const Node* name) {
      if (!name) return;
      s.name = name->string();
      s.name_span = span(*name);
    };
    if (n.is_type<g::chain>()) {
      s.kind = K::Chain;
      for (const auto& c : n.children) s.chain.push_back(stage(*c));
    } else if (n.is_type<g::recipe_stmt>()) {
      s.kind = K::Recipe;
      set_name(find<g::recipe_name>(n));
    } else if (n.is_type<g::let_stmt>()) {
      s.kind = K::Let;
      set_name(find<g::let_name>(n));
      if (const Node* v = find<g::let_value>(n)) s.value = value(*v);
    } else if (n.is_type<g::use_stmt>()) {
      s.kind = K::Use;
      if (const Node* v = find<g::use_path>(n)) s.value = scalar(*v);
    } else if (n.is_type<g::seed_stmt>() || n.is_type<g::repeat_stmt>()) {
      s.kind = n.is_type<g::seed_stmt>() ? K::Seed : K::Repeat;
      const Node* v = child(n, 0);
      if (v) s.value = scalar(*v);
      if (const Node* b = find<g::block>(n)) body(*b, s);
    } else if (n.is_type<g::from_stmt>()) {
      s.kind = K::From;
      if (const Node* v = find<g::from_ref>(n)) s.value = scalar(*v);
    } else if (n.is_type<g::sweep_stmt>()) {
      s.kind = K::Sweep;
      set_name(find<g::sweep_var>(n));
      if (const Node* v = find<g::sweep_values>(n)) s.value = value(*v);
      if (const Node* b = find<g::block>(n)) body(*b, s);
    } else if (n.is_type<g::search_stmt>()) {
      s.kind = K::Search;
      set_name(find<g::search_objective>(n));
      if (const Node* m = find<g::search_metric>(n)) {
        s.metric = m->string();
        s.metric_span = span(*m);
      }
      if (const Node* o = find<g::search_op>(n)) s.op = o->string();
      if (const Node* v = find<g::search_bar>(n)) s.value = value(*v);
      for (const auto& c : n.children) {
        if (c->is_type<g::search_arg>()) s.args.push_back(arg(*c));
        if (c->is_type<g::as_name>()) {
          s.as_name = c->string();
          s.as_span = span(*c);
        }
      }
      if (const Node* b = find<g::block>(n)) body(*b, s);
    } else if (n.is_type<g::choose_stmt>()) {
      s.kind = K::Choose;
      set_name(find<g::choose_var>(n));
      if (const Node* v = find<g::choose_values>(n)) s.value = value(*v);
      s.flag = find<g::choose_monotone>(n) != nullptr;
    } else if (n.is_type<g::define_stmt>()) {
      s.kind = K::Define;
      set_name(find<g::define_name>(n));
      for (const auto& c : n.children)
        if (c->is_type<g::param>()) s.params.push_back(param(*c));
      if (const Node* b = find<g::block>(n)) body(*b, s);
    } else if (n.is_type<g::network_stmt>()) {
      s.kind = K::Network;
      set_name(find<g::network_name>(n));
      if (const Node* ps = find<g::network_params>(n)) {
        s.has_params = true;
        for (const auto& c : ps->children)
          if (c->is_type<g::param>()) s.params.push_back(param(*c));
      }
      if (const Node* b = find<g::block>(n)) body(*b, s);
    }
    return s;
  }
};

}  // namespace

ast::Recipe build_ast(const Node& root, FileId file, const char* base) {
  Builder b{file, base};
  ast::Recipe r;
  r.file = file;
  for (const auto& c : root.children) r.stmts.push_back(b.stmt(*c));
  return r;
}

ast::Value build_value(const Node& n, FileId file, const char* base) { return Builder{file, base}.value(n); }

std::vector<ast::Comment> scan_comments(const std::string& text, FileId file) {
  std::vector<ast::Comment> out;
  bool in_string = false;
  bool code_on_line = false;
  for (std::uint32_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      in_string = false;
      code_on_line = false;
    } else if (in_string) {
      if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = code_on_line = true;
    } else if (c == '#') {
      std::uint32_t end = i;
      while (end < text.size() && text[end] != '\n') ++end;
      std::uint32_t trimmed = end;
      while (trimmed > i && (text[trimmed - 1] == '\r' || text[trimmed - 1] == ' ' || text[trimmed - 1] == '\t'))
        --trimmed;
      out.push_back({Span{file, i, trimmed}, text.substr(i, trimmed - i), code_on_line});
      i = end - 1;
    } else if (c != ' ' && c != '\t' && c != '\r') {
      code_on_line = true;
    }
  }
  return out;
}

}  // namespace whittle::lang
