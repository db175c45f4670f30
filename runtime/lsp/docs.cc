// Docs for hover and completion (docs.h).
#include "runtime/lsp/docs.h"

#include <fmt/format.h>

#include <algorithm>

#include "lang/network.h"

namespace whittle::lsp {

namespace {

std::string params_list(const std::vector<lang::ParamDef>& params) {
  std::string out;
  for (const auto& p : params)
    out += fmt::format("- `{}`: {}{} — {}\n", p.name, p.type.describe(),
                       p.required      ? ", required"
                       : p.has_default ? ", default `" + p.default_text + "`"
                                       : "",
                       p.doc);
  return out;
}

const lang::DefineInfo* declared(const lang::Analysis& a, const std::string& name) {
  auto d = a.program.defines.find(name);
  if (d != a.program.defines.end()) return &d->second;
  auto n = a.program.networks.find(name);
  return n != a.program.networks.end() ? &n->second : nullptr;
}

}  // namespace

std::string param_markdown(const lang::ParamDef& p) {
  return fmt::format("**{}**: {}{}\n\n{}", p.name, p.type.describe(),
                     p.required      ? " (required)"
                     : p.has_default ? fmt::format(" (default `{}`)", p.default_text)
                                     : "",
                     p.doc);
}

std::string call_markdown(const lang::CallDef& c) {
  return fmt::format("**{}({})** ({}): {}\n\n{}", c.name, c.params.empty() ? "" : "...", c.family, c.doc,
                     params_list(c.params));
}

std::string stage_doc_markdown(const lang::Analysis& a, const std::string& name, bool in_network) {
  const lang::Catalog& cat = lang::Catalog::builtin();
  if (in_network)
    if (const lang::CallDef* l = cat.layer(name))
      return fmt::format("**{}** (layer): {}\n\n{}", name, l->doc, params_list(l->params));
  if (const lang::StageDef* s = cat.stage(name))
    return fmt::format("**{}**{}: {}\n\n{}", name, s->name != name ? " (`" + s->name + "`)" : "", s->doc,
                       params_list(s->params));
  if (const lang::DefineInfo* d = declared(a, name)) {
    const bool network = d->stmt->kind == lang::ast::Stmt::Kind::Network;
    const lang::SourceFile* file = nullptr;
    for (std::size_t i = 0; i < a.sources.size(); ++i)
      if (static_cast<lang::FileId>(i) == d->stmt->span.file) file = &a.sources.file(static_cast<lang::FileId>(i));
    std::string where = file ? fmt::format(" ({}:{})", file->name(), file->line_of(d->stmt->span.begin)) : "";
    return fmt::format("**{}** ({}{}){}\n\n{}", name, network ? "network" : "define", where,
                       network ? ": the architecture of `model " + name + "`" : "", params_list(d->params));
  }
  if (const lang::CallDef* l = cat.layer(name))
    return fmt::format("**{}** (layer): {}\n\n{}", name, l->doc, params_list(l->params));
  return "";
}

std::string stage_effect_markdown(const lang::Analysis& a, const lang::ast::Stage& stage) {
  std::vector<const lang::StageInstance*> runs;
  for (const auto& s : a.recipe.stages)
    if (s.name_span == stage.name_span) runs.push_back(&s);
  if (runs.empty()) return "";
  const lang::StageInstance& s = *runs.front();
  std::string out = fmt::format("\n---\nruns as stage #{}{}:\n\n", s.id,
                                runs.size() > 1 ? fmt::format(" (and {} more times)", runs.size() - 1) : "");
  for (const auto& p : s.params)
    out += fmt::format("- `{}: {}`{}\n", p.name, p.value.canonical(),
                       p.origin == lang::Origin::Default     ? " (default)"
                       : p.origin == lang::Origin::Inherited ? " (from its train)"
                                                             : "");
  if (s.network)
    out += fmt::format("\n{} parameters, {} MACs per image\n", s.network->root.params, s.network->root.macs);
  return out;
}

const std::vector<lang::ParamDef>* params_at(const lang::Analysis& a, const Located& at) {
  const lang::Catalog& cat = lang::Catalog::builtin();
  if (at.call) {
    const auto calls = cat.calls_named(at.call->text);
    if (!calls.empty()) return &calls.front()->params;
  }
  if (!at.stage) return nullptr;
  if (at.in_network)
    if (const lang::CallDef* l = cat.layer(at.stage->name)) return &l->params;
  if (const lang::StageDef* s = cat.stage(at.stage->name)) return &s->params;
  if (const lang::DefineInfo* d = declared(a, at.stage->name)) return &d->params;
  if (const lang::CallDef* l = cat.layer(at.stage->name)) return &l->params;
  return nullptr;
}

const lang::ParamDef* param_of(const lang::Analysis& a, const Located& at, const std::string& name) {
  Located outer = at;
  // A named argument directly in a call belongs to the call; one of the stage to the stage.
  if (at.call && at.arg &&
      std::none_of(at.call->args.begin(), at.call->args.end(), [&](const lang::ast::Arg& x) { return &x == at.arg; }))
    outer.call = nullptr;
  const auto* params = params_at(a, outer);
  if (!params) return nullptr;
  for (const auto& p : *params)
    if (p.name == name) return &p;
  return nullptr;
}

const lang::ParamDef* word_param(const lang::Analysis& a, const Located& at) {
  if (at.arg && at.arg->named) return param_of(a, at, at.arg->name);
  const auto* params = params_at(a, at);
  if (!params || !at.value) return nullptr;
  for (const auto& p : *params)
    if (std::find(p.type.values.begin(), p.type.values.end(), at.value->text) != p.type.values.end()) return &p;
  return nullptr;
}

}  // namespace whittle::lsp
