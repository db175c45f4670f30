// Completion from the text before the cursor: stages at the start of a statement, a stage's (or a
// call's) parameters and enum words inside it, a parameter's values after `name:`, `$names`, and
// layers inside a network (server.h).
#include <fmt/format.h>

#include <cctype>
#include <optional>
#include <set>

#include "lang/catalog.h"
#include "runtime/lsp/docs.h"
#include "runtime/lsp/positions.h"
#include "runtime/lsp/server.h"
#include "runtime/plan/architectures.h"

namespace whittle::lsp {

namespace {
using lang::ast::Stmt;

enum Kind { Function = 3, Field = 5, Variable = 6, Class = 7, Module = 9, Keyword = 14, EnumMember = 20, Snippet = 15 };

bool ident(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

struct Items {
  json list = json::array();
  std::set<std::string> seen;
  void add(const std::string& label, int kind, const std::string& detail, const std::string& insert = "") {
    if (!seen.insert(label).second) return;
    json item = {{"label", label}, {"kind", kind}};
    if (!detail.empty()) item["detail"] = detail;
    if (!insert.empty()) item["insertText"] = insert;
    list.push_back(std::move(item));
  }
};

void values_of(const lang::ParamDef& p, Items& items) {
  const lang::Catalog& cat = lang::Catalog::builtin();
  for (const auto& v : p.type.values) items.add(v, EnumMember, p.name);
  for (const auto& i : p.type.item)
    for (const auto& v : i.values) items.add(v, EnumMember, p.name);
  if (p.type.kind == lang::TypeKind::Bool) {
    items.add("true", EnumMember, p.name);
    items.add("false", EnumMember, p.name);
  }
  auto family = [&](const std::string& name) {
    if (const lang::Family* f = cat.family(name))
      for (const auto& k : f->kinds) items.add(k.name + "(", Function, k.doc, k.name + "(");
  };
  family(p.type.name);
  for (const auto& i : p.type.item) family(i.name);
  if (p.name == "arch") {
    for (const auto& a : runtime::architectures()) items.add(a.name, Class, a.doc);
  }
}

/// Every `let`, sweep variable and `define`/`network` parameter name of the program.
void names(const lang::Analysis& a, Items& items) {
  std::function<void(const std::vector<Stmt>&)> walk = [&](const std::vector<Stmt>& stmts) {
    for (const Stmt& s : stmts) {
      if (s.kind == Stmt::Kind::Let) items.add(s.name, Variable, "let");
      if (s.kind == Stmt::Kind::Sweep) items.add(s.name, Variable, "sweep");
      if (s.kind == Stmt::Kind::Choose) items.add(s.name, Variable, "choose");
      for (const auto& p : s.params) items.add(p.name, Variable, "parameter of " + s.name);
      walk(s.body);
    }
  };
  for (const auto& m : a.program.modules) walk(m->recipe.stmts);
}

void stages(const lang::Analysis& a, bool in_network, Items& items) {
  const lang::Catalog& cat = lang::Catalog::builtin();
  if (in_network) {
    for (const auto& l : cat.layers()) items.add(l.name, Function, l.doc);
    for (const auto& [name, d] : a.program.defines) items.add(name, Function, "define");
    return;
  }
  for (const auto& s : cat.stages()) items.add(s.name, Function, s.doc);
  for (const auto& [alias, target] : cat.aliases()) items.add(alias, Function, "`" + target + "`");
  for (const auto& [name, d] : a.program.defines) items.add(name, Function, "define");
  for (const char* k : {"let", "use", "repeat", "sweep", "define", "network", "recipe", "seed"})
    items.add(k, Keyword, "");
  items.add("search", Keyword,
            "the lowest objective that keeps a metric: `search lowest course2025 where accuracy >= 90% { ... }`",
            "search lowest course2025 where accuracy >= 90% {");
  items.add("choose", Keyword, "a dimension of a search: `choose amount in 50%..90% by 10% monotone`");
}

/// The parameter whose value the cursor is at: after `name:` (`method: `), or inside its list
/// (`metrics: [accuracy, `); nullopt elsewhere (inside a call's parentheses, say).
std::optional<std::string> value_of_param(const std::string& head) {
  std::size_t i = head.find_last_not_of(" \t");
  if (i == std::string::npos) return std::nullopt;
  if (head[i] != ':') {
    int depth = 0;
    for (;; --i) {  // back to the `[` this list opened with
      const char ch = head[i];
      if (ch == ']' || ch == ')')
        ++depth;
      else if (ch == '(' && depth-- == 0)
        return std::nullopt;
      else if (ch == '[' && depth-- == 0)
        break;
      if (i == 0) return std::nullopt;
    }
    if (i == 0) return std::nullopt;
    i = head.find_last_not_of(" \t", i - 1);
    if (i == std::string::npos || head[i] != ':') return std::nullopt;
  }
  std::size_t e = i;
  while (e > 0 && ident(head[e - 1])) --e;
  if (e == i) return std::nullopt;
  return head.substr(e, i - e);
}

}  // namespace

json completion(const Document& d, const json& params) {
  if (!d.analysis) return json::array();
  const lang::Analysis& a = *d.analysis;
  const std::size_t offset = offset_of(d.text, params.value("position", json()));
  const std::size_t line_start = d.text.rfind('\n', offset == 0 ? 0 : offset - 1) == std::string::npos || offset == 0
                                     ? 0
                                     : d.text.rfind('\n', offset - 1) + 1;
  const std::string before = d.text.substr(line_start, offset - line_start);
  std::size_t w = before.size();
  while (w > 0 && ident(before[w - 1])) --w;
  const std::string head = before.substr(0, w);
  Items items;
  // `$name`
  if (!head.empty() && head.back() == '$') {
    names(a, items);
    return items.list;
  }
  // The start of a statement: stages (layers inside a network).
  std::size_t t = head.find_last_not_of(" \t");
  const bool start = t == std::string::npos || head[t] == '{' || (t >= 1 && head.compare(t - 1, 2, "->") == 0);
  const Located at =
      locate(a.program.main().recipe.stmts, a.main, static_cast<std::uint32_t>(offset > 0 ? offset - 1 : 0));
  const Located here = locate(a.program.main().recipe.stmts, a.main, static_cast<std::uint32_t>(offset));
  const bool in_network = at.in_network || here.in_network;
  if (start) {
    stages(a, in_network, items);
    return items.list;
  }
  // A `search` line: its objectives after `lowest`, its metrics after `where`; a `choose` line: `monotone`.
  if (const std::size_t f = head.find_first_not_of(" \t");
      f != std::string::npos && head.compare(f, 7, "search ") == 0) {
    const lang::StageDef* sd = lang::Catalog::builtin().stage("search");
    const bool metric = head.find(" where") != std::string::npos;
    if (sd && head.find(" lowest") != std::string::npos)
      if (const lang::ParamDef* p = sd->param(metric ? "metric" : "objective")) values_of(*p, items);
    if (!metric)
      items.add("lowest", Keyword, "");
    else
      for (const char* k : {"budget", "seeds"})
        items.add(k, Field, sd && sd->param(k) ? sd->param(k)->doc : "", std::string(k) + ": ");
    return items.list;
  }
  if (const std::size_t f = head.find_first_not_of(" \t");
      f != std::string::npos && head.compare(f, 7, "choose ") == 0) {
    items.add("monotone", Keyword,
              "the promise that, the other choices equal, going further along this list never turns a failing "
              "candidate into a passing one");
    return items.list;
  }
  // The stage the line is about: as parsed, or (a line that does not parse yet, such as
  // `quantize 4 bits method: `) the one its first word names.
  Located ctx = here.stage ? here : at;
  lang::ast::Stage fake;
  if (!ctx.stage) {
    std::size_t s = head.find_first_not_of(" \t");
    std::size_t e = s;
    while (e < head.size() && ident(head[e])) ++e;
    fake.name = s == std::string::npos ? "" : head.substr(s, e - s);
    ctx = Located{};
    ctx.stage = &fake;
    ctx.in_network = in_network;
  }
  // After `name:`, or inside its list, that parameter's values.
  if (const auto pname = value_of_param(head)) {
    if (const lang::ParamDef* p = param_of(a, ctx, *pname)) values_of(*p, items);
    return items.list;
  }
  // Inside a stage line (or a call): its parameters, then the words and calls its parameters take.
  if (const auto* ps = params_at(a, ctx))
    for (const auto& p : *ps) {
      items.add(p.name, Field, p.doc, p.name + ": ");
      values_of(p, items);
    }
  if (ctx.stage->name == "model")
    for (const auto& [name, n] : a.program.networks) items.add(name, Class, "network");
  return items.list;
}

}  // namespace whittle::lsp
