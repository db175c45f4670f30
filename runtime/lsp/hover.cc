// Hover: the catalog's docs for what is under the cursor, and the value of a `$name` (server.h).
#include <fmt/format.h>

#include <set>

#include "lang/catalog.h"
#include "lang/fmt.h"
#include "lang/graph.h"
#include "lang/network.h"
#include "runtime/lsp/docs.h"
#include "runtime/lsp/locate.h"
#include "runtime/lsp/positions.h"
#include "runtime/lsp/server.h"
#include "runtime/plan/architectures.h"
#include "runtime/torch/api.h"

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
      if (s.kind == Stmt::Kind::Let && s.name == name)
        out = fmt::format("let {} = {}", name, lang::format_value(s.value));
      if (s.kind == Stmt::Kind::Sweep && s.name == name)
        out = fmt::format("sweep {} over {}", name, lang::format_value(s.value));
      if (s.kind == Stmt::Kind::Define || s.kind == Stmt::Kind::Network)
        for (const auto& p : s.params)
          if (p.name == name)
            out = fmt::format("parameter `{}` of `{}`{}", name, s.name,
                              p.has_default ? " = " + lang::format_value(p.default_value) : "");
      walk(s.body);
    }
  };
  for (const auto& m : a.program.modules) walk(m->recipe.stmts);
  return out;
}

/// A network written in the recipe: its parameters with their types and defaults, where it is
/// declared, and what each build of it the recipe makes counts (parameters and MACs per image).
std::string network_markdown(const lang::Analysis& a, const std::string& name) {
  auto it = a.program.networks.find(name);
  if (it == a.program.networks.end() || !it->second.stmt) return "";
  const lang::DefineInfo& info = it->second;
  const lang::SourceFile& f = a.sources.file(info.stmt->name_span.file);
  std::string md = fmt::format("**{}** (a network written in the recipe, {}:{})", name, f.name(),
                               f.line_of(info.stmt->name_span.begin));
  if (!info.params.empty()) {
    md += "\n\nparameters:";
    for (std::size_t i = 0; i < info.params.size(); ++i) {
      const lang::ParamDef& p = info.params[i];
      const lang::ast::Value* dv = i < info.defaults.size() ? info.defaults[i] : nullptr;
      const std::string def =
          dv ? std::string(a.sources.file(dv->span.file).text().substr(dv->span.begin, dv->span.end - dv->span.begin))
             : "";
      md += fmt::format("\n- `{}` ({}){}", p.name, p.type.describe(), dv ? ", default `" + def + "`" : ", required");
    }
  }
  std::set<std::string> builds;
  for (const auto& s : a.recipe.stages) {
    if (!s.network || s.network->name != name) continue;
    const std::string line =
        fmt::format("\n- {}{}: {} parameters, {} MACs per image", s.network->args.empty() ? "" : s.network->args + " ",
                    s.network->input.text(), s.network->root.params, s.network->root.macs);
    if (builds.insert(line).second && builds.size() <= 8)
      md += (builds.size() == 1 ? "\n\nas the recipe builds it:" : "") + line;
  }
  return md;
}

/// The document with every stage line after the top-level statement that holds `at` blanked (spaces,
/// newlines kept, so that offsets and the stages before stay as they are): an error further down the
/// file then does not keep the hover from previewing the model up to here. Declarations (`let`,
/// `network`, `define`, `use`) stay wherever they are.
std::string up_to(const lang::Analysis& a, const std::string& text, std::uint32_t at) {
  std::string out = text;
  std::uint32_t end = 0;
  for (const Stmt& s : a.program.main().recipe.stmts)
    if (s.span.begin <= at && at < s.span.end) end = s.span.end;
  for (const Stmt& s : a.program.main().recipe.stmts) {
    const bool stage = s.kind == Stmt::Kind::Chain || s.kind == Stmt::Kind::Repeat || s.kind == Stmt::Kind::Sweep ||
                       s.kind == Stmt::Kind::From;
    if (!stage || s.span.begin < end || end == 0) continue;
    for (std::uint32_t i = s.span.begin; i < s.span.end && i < out.size(); ++i)
      if (out[i] != '\n') out[i] = ' ';
  }
  return out;
}

}  // namespace

json hover(const Document& d, const json& params, Previews& previews) {
  if (!d.analysis) return nullptr;
  const lang::Analysis& a = *d.analysis;
  const std::size_t offset = offset_of(d.text, params.value("position", json()));
  const Located at = locate(a.program.main().recipe.stmts, a.main, static_cast<std::uint32_t>(offset));
  const lang::Catalog& cat = lang::Catalog::builtin();
  // A `search` line: what it does, its candidates and the range of their previewed objective.
  for (const auto& s : a.recipe.stages) {
    if (!s.search || s.span.file != a.main || offset < s.span.begin || offset >= s.span.end) continue;
    const lang::SearchSpace& sp = *s.search;
    std::string dims;
    for (const auto& dim : sp.dims)
      dims += fmt::format("{}`{}`: {} values{}", dims.empty() ? "" : ", ", dim.name, dim.labels.size(),
                          dim.monotone ? ", monotone" : "");
    const std::string text =
        fmt::format("**search** for the lowest `{}` where `{}` {} the bar: {}{}{}\n\nover {}{}", sp.objective,
                    sp.metric, sp.at_most ? "stays at or below" : "reaches", lang::stage_summary(s),
                    sp.budget ? fmt::format(", at most {} trainings", sp.budget) : "",
                    sp.seeds > 1 ? fmt::format(", {} seeds each", sp.seeds) : "", dims,
                    runtime::libtorch_version() != "none" ? previews.of(d, s.id) : "");
    return markdown(text, d.text, s.span);
  }
  switch (at.kind) {
    case Located::Kind::StageName: {
      std::string text = stage_doc_markdown(a, at.stage->name, at.in_network);
      // `model NET ...` of a network written in the recipe: its own parameters, not the built-in
      // architectures' knobs, which it does not have.
      if (at.stage->name == "model" && !at.in_network)
        for (const auto& arg : at.stage->args)
          if (!arg.named && arg.value.kind == lang::ast::Value::Kind::Word) {
            if (const std::string net = network_markdown(a, arg.value.text); !net.empty())
              text = "**model** (stage): builds the network, initialised from the stage's key\n\n" + net;
            break;
          }
      if (text.empty()) return nullptr;
      std::string model;
      for (const auto& s : a.recipe.stages)
        if (s.name_span == at.stage->name_span) {
          if (s.def && (s.def->needs_model || s.produces_model()) && runtime::libtorch_version() != "none") {
            // With an error elsewhere, the model up to this line (an error after it cannot change it).
            const std::string before = a.ok() ? "" : up_to(a, d.text, at.stage->name_span.begin);
            model = previews.of(d, s.id, a.ok() ? nullptr : &before);
          }
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
    case Located::Kind::Declaration: {
      if (!at.stmt || at.stmt->kind != lang::ast::Stmt::Kind::Network) return nullptr;
      const std::string md = network_markdown(a, at.stmt->name);
      return md.empty() ? nullptr : markdown(md, d.text, at.stmt->name_span);
    }
    case Located::Kind::Word: {
      const std::string& w = at.value->text;
      if (const std::string md = network_markdown(a, w); !md.empty()) return markdown(md, d.text, at.value->span);
      for (const auto& arch : runtime::architectures())
        if (w == arch.name)
          return markdown(fmt::format("**{}** (architecture): {}", w, arch.doc), d.text, at.value->span);
      if (const lang::ParamDef* p = word_param(a, at)) {
        return markdown(fmt::format("`{}`: a value of `{}` ({})\n\n{}", w, p->name, p->type.describe(), p->doc), d.text,
                        at.value->span);
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
