// Document symbols and go to definition (server.h).
#include <fmt/format.h>

#include <filesystem>

#include "runtime/lsp/locate.h"
#include "runtime/lsp/positions.h"
#include "runtime/lsp/server.h"

namespace whittle::lsp {

namespace {
using lang::ast::Stmt;

enum SymbolKind {
  File = 1,
  Module = 2,
  Namespace = 3,
  Class = 5,
  Method = 6,
  Function = 12,
  Variable = 13,
  Event = 24
};

json symbols(const std::vector<Stmt>& stmts, const std::string& text, const LineIndex& lines) {
  json out = json::array();
  for (const Stmt& s : stmts) {
    auto sym = [&](const std::string& name, int kind, const lang::Span& sel) {
      return json{{"name", name.empty() ? "(unnamed)" : name},
                  {"kind", kind},
                  {"range", lines.range(s.span.begin, s.span.end)},
                  {"selectionRange", lines.range(sel.begin, sel.end)}};
    };
    switch (s.kind) {
      case Stmt::Kind::Let:
        out.push_back(sym("$" + s.name, Variable, s.name_span));
        break;
      case Stmt::Kind::Define: {
        json d = sym(s.name, Function, s.name_span);
        d["children"] = symbols(s.body, text, lines);
        out.push_back(std::move(d));
        break;
      }
      case Stmt::Kind::Network: {
        json d = sym(s.name, Class, s.name_span);
        d["children"] = symbols(s.body, text, lines);
        out.push_back(std::move(d));
        break;
      }
      case Stmt::Kind::Sweep:
      case Stmt::Kind::Repeat: {
        const std::string name =
            s.kind == Stmt::Kind::Sweep
                ? "sweep " + s.name
                : "repeat " + text.substr(s.value.span.begin, s.value.span.end - s.value.span.begin);
        json d = sym(name, Namespace, s.kind == Stmt::Kind::Sweep ? s.name_span : s.value.span);
        d["children"] = symbols(s.body, text, lines);
        out.push_back(std::move(d));
        break;
      }
      case Stmt::Kind::Use:
        out.push_back(sym("use " + s.value.text, Module, s.value.span));
        break;
      case Stmt::Kind::Chain:
        for (const auto& st : s.chain) {
          std::string line = text.substr(st.span.begin, std::min<std::size_t>(st.span.end - st.span.begin, 60));
          if (const auto nl = line.find('\n'); nl != std::string::npos) line = line.substr(0, nl);
          json e = {{"name", line},
                    {"kind", Event},
                    {"range", lines.range(st.span.begin, st.span.end)},
                    {"selectionRange", lines.range(st.name_span.begin, st.name_span.end)}};
          if (st.has_body) e["children"] = symbols(st.body, text, lines);
          out.push_back(std::move(e));
        }
        break;
      default:
        break;
    }
  }
  return out;
}

json location(const lang::Analysis& a, const lang::Span& s) {
  const lang::SourceFile& f = a.sources.file(s.file);
  if (f.name().rfind("<", 0) == 0) return nullptr;  // the embedded standard library has no file to open
  return {{"uri", uri_of_path(f.name())}, {"range", range_of(f.text(), s.begin, s.end)}};
}

/// The declaration of `$name` that encloses `offset` most closely (a parameter of the define around
/// it), else a `let` or sweep variable of any file.
const lang::Span* declaration_of(const lang::Analysis& a, const std::string& name, std::uint32_t offset) {
  const lang::Span* found = nullptr;
  std::function<void(const std::vector<Stmt>&, bool)> walk = [&](const std::vector<Stmt>& stmts, bool main) {
    for (const Stmt& s : stmts) {
      if ((s.kind == Stmt::Kind::Let || s.kind == Stmt::Kind::Sweep) && s.name == name && (!found || main))
        found = &s.name_span;
      if ((s.kind == Stmt::Kind::Define || s.kind == Stmt::Kind::Network) && main && s.span.begin <= offset &&
          offset <= s.span.end)
        for (const auto& p : s.params)
          if (p.name == name) return void(found = &p.name_span);
      walk(s.body, main);
    }
  };
  for (std::size_t i = a.program.modules.size(); i-- > 0;) walk(a.program.modules[i]->recipe.stmts, i == 0);
  return found;
}

}  // namespace

json document_symbols(const Document& d) {
  if (!d.analysis) return json::array();
  const LineIndex lines(d.text);
  return symbols(d.analysis->program.main().recipe.stmts, d.text, lines);
}

json definition(const Document& d, const json& params) {
  if (!d.analysis) return nullptr;
  const lang::Analysis& a = *d.analysis;
  const auto offset = static_cast<std::uint32_t>(offset_of(d.text, params.value("position", json())));
  const Located at = locate(a.program.main().recipe.stmts, a.main, offset);
  if (at.kind == Located::Kind::Ref) {
    if (const lang::Span* s = declaration_of(a, at.value->text, offset)) return location(a, *s);
    return nullptr;
  }
  if (at.kind == Located::Kind::StageName || (at.kind == Located::Kind::Word && at.value)) {
    const std::string& name = at.kind == Located::Kind::StageName ? at.stage->name : at.value->text;
    for (const auto* table : {&a.program.defines, &a.program.networks}) {
      auto it = table->find(name);
      if (it != table->end()) return location(a, it->second.stmt->name_span);
    }
    // `as NAME` of a model, for `teacher: $name` written as a word.
    return nullptr;
  }
  if (at.kind == Located::Kind::UsePath) {
    for (std::size_t i = 1; i < a.sources.size(); ++i) {
      const lang::SourceFile& f = a.sources.file(static_cast<lang::FileId>(i));
      const std::filesystem::path want = std::filesystem::path(d.path).parent_path() / at.value->text;
      if (f.name().rfind("<", 0) != 0 && std::filesystem::path(f.name()).lexically_normal() == want.lexically_normal())
        return {{"uri", uri_of_path(f.name())}, {"range", range_of(f.text(), 0, 0)}};
    }
  }
  return nullptr;
}

}  // namespace whittle::lsp
