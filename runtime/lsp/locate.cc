// The syntax tree under the cursor (locate.h).
#include "runtime/lsp/locate.h"

namespace whittle::lsp {

namespace {
using namespace lang::ast;

bool inside(const lang::Span& s, lang::FileId file, std::uint32_t offset) {
  return s.file == file && s.begin <= offset && offset <= s.end;
}

struct Walker {
  lang::FileId file;
  std::uint32_t at;
  Located found;

  void value(const Value& v, const Stage* st, const Arg* arg) {
    if (!inside(v.span, file, at)) return;
    if (v.kind == Value::Kind::Call) {
      found.call = &v;
      const lang::Span name{v.span.file, v.span.begin, static_cast<std::uint32_t>(v.span.begin + v.text.size())};
      if (inside(name, file, at)) {
        found.kind = Located::Kind::CallName;
        found.value = &v;
        found.stage = st;
        found.arg = arg;
        return;
      }
      for (const Arg& a : v.args) args_of(a, st);
      return;
    }
    if (v.kind == Value::Kind::Word) found.kind = Located::Kind::Word;
    if (v.kind == Value::Kind::Ref) found.kind = Located::Kind::Ref;
    if (v.kind == Value::Kind::Word || v.kind == Value::Kind::Ref) {
      found.value = &v;
      found.stage = st;
      found.arg = arg;
      return;
    }
    for (const Value& i : v.items) value(i, st, arg);
  }

  void args_of(const Arg& a, const Stage* st) {
    if (a.named && inside(a.name_span, file, at)) {
      found.kind = Located::Kind::ArgName;
      found.stage = st;
      found.arg = &a;
      return;
    }
    value(a.value, st, &a);
  }

  void stage(const Stage& st, bool network) {
    if (!inside(st.span, file, at)) return;
    found.stage = &st;
    found.in_network = found.in_network || network || st.has_body;
    if (inside(st.name_span, file, at)) {
      found.kind = Located::Kind::StageName;
      return;
    }
    for (const Arg& a : st.args) args_of(a, &st);
    if (st.has_body) stmts(st.body, true);
  }

  void stmts(const std::vector<Stmt>& list, bool network) {
    for (const Stmt& s : list) {
      if (!inside(s.span, file, at)) continue;
      found.stmt = &s;
      if (s.kind == Stmt::Kind::Use && inside(s.value.span, file, at)) {
        found.kind = Located::Kind::UsePath;
        found.value = &s.value;
        return;
      }
      if ((s.kind == Stmt::Kind::Let || s.kind == Stmt::Kind::Define || s.kind == Stmt::Kind::Network ||
           s.kind == Stmt::Kind::Sweep) &&
          inside(s.name_span, file, at)) {
        found.kind = Located::Kind::Declaration;
        return;
      }
      value(s.value, nullptr, nullptr);
      for (const Param& p : s.params) value(p.default_value, nullptr, nullptr);
      for (const Stage& st : s.chain) stage(st, network);
      stmts(s.body, network || s.kind == Stmt::Kind::Network);
      if (s.kind == Stmt::Kind::Network) found.in_network = true;
      return;
    }
  }
};

}  // namespace

Located locate(const std::vector<Stmt>& stmts, lang::FileId file, std::uint32_t offset) {
  Walker w{file, offset, {}};
  w.stmts(stmts, false);
  return w.found;
}

}  // namespace whittle::lsp
