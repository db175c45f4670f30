// Hover: the catalog's docs for what is under the cursor, and the value of a `$name` (server.h).
#include <fmt/format.h>

#include "lang/catalog.h"
#include "lang/fmt.h"
#include "runtime/architectures.h"
#include "runtime/torch_api.h"
#include "runtime/lsp/docs.h"
#include "runtime/lsp/locate.h"
#include "runtime/lsp/positions.h"
#include "runtime/lsp/server.h"

namespace whittle::lsp {

namespace {
using lang::ast::Stmt;

json markdown(const std::string& text, const std::string& doc, const lang::Span& span) {
  return {{"contents", {{"kind", "markdown"}, {"value", text}}}, {"range", range_of(doc, span.begin, span.end)}};
}

/// The `let`, sweep variable or `define`/`network` parameter a `$name` refers to, as written.
std::string value_of(const lang::Analysis& a, const std::string& name) {
  std::string out;
  std::function<void(const std::vector<Stmt>&)> walk = [&](const std::vector<Stmt>& stmts) {
    for (const Stmt& s : stmts) {
      if (!out.empty()) return;
      if (s.kind == Stmt::Kind::Let && s.name == name) out = fmt::format("let {} = {}", name, lang::format_value(s.value));
      if (s.kind == Stmt::Kind::Sweep && s.name == name) out = fmt::format("sweep {} over {}", name, lang::format_value(s.value));
      if (s.kind == Stmt::Kind::Define || s.kind == Stmt::Kind::Network)
        for (const auto& p : s.params)
          if (p.name == name)
            out = fmt::format("parameter `{}` of `{}`{}", name, s.name, p.has_default ? " = " + lang::format_value(p.default_value) : "");
      walk(s.body);
    }
  };
  for (const auto& m : a.program.modules) walk(m->recipe.stmts);
  return out;
}

}  // namespace

json hover(const Document& d, const json& params, Previews& previews) {
  if (!d.analysis) return nullptr;
  const lang::Analysis& a = *d.analysis;
  const std::size_t offset = offset_of(d.text, params.value("position", json()));
  const Located at = locate(a.program.main().recipe.stmts, a.main, static_cast<std::uint32_t>(offset));
  const lang::Catalog& cat = lang::Catalog::builtin();
  switch (at.kind) {
    case Located::Kind::StageName: {
      const std::string text = stage_doc_markdown(a, at.stage->name, at.in_network);
      if (text.empty()) return nullptr;
      std::string model;
      for (const auto& s : a.recipe.stages)
        if (s.name_span == at.stage->name_span) {
          if (a.ok() && s.def && (s.def->needs_model || s.produces_model()) && runtime::libtorch_version() != "none")
            model = previews.of(d, s.id);
          break;
        }
      return markdown(text + stage_effect_markdown(a, *at.stage) + model, d.text, at.stage->name_span);
    }
    case Located::Kind::ArgName: {
      const lang::ParamDef* p = param_of(a, at, at.arg->name);
      if (!p) return nullptr;
      return markdown(param_markdown(*p), d.text, at.arg->name_span);
    }
    case Located::Kind::CallName: {
      const auto calls = cat.calls_named(at.value->text);
      if (calls.empty()) return nullptr;
      return markdown(call_markdown(*calls.front()), d.text, at.value->span);
    }
    case Located::Kind::Word: {
      const std::string& w = at.value->text;
      for (const auto& arch : runtime::architectures())
        if (w == arch.name) return markdown(fmt::format("**{}** (architecture): {}", w, arch.doc), d.text, at.value->span);
      if (const lang::ParamDef* p = word_param(a, at)) {
        return markdown(fmt::format("`{}`: a value of `{}` ({})\n\n{}", w, p->name, p->type.describe(), p->doc), d.text, at.value->span);
      }
      return nullptr;
    }
    case Located::Kind::Ref: {
      const std::string v = value_of(a, at.value->text);
      if (v.empty()) return nullptr;
      return markdown("```whittle\n" + v + "\n```", d.text, at.value->span);
    }
    default:
      return nullptr;
  }
}

}  // namespace whittle::lsp
