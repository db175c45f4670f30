// Building the stage DAG with Boost.Graph, ordering it, and dumping it as text or DOT.
#include "lang/graph.h"

#include <fmt/format.h>

#include <boost/graph/topological_sort.hpp>  // boost::not_a_dag

#include <functional>
#include <iterator>
#include <queue>
#include <stdexcept>

namespace whittle::lang {

const char* edge_kind_name(EdgeKind k) {
  switch (k) {
    case EdgeKind::Model:
      return "model";
    case EdgeKind::Data:
      return "data";
    case EdgeKind::Ref:
      return "reads";
  }
  return "model";
}

StageGraph compile(const CheckedRecipe& recipe) {
  StageGraph g;
  g.recipe = &recipe;
  for (const StageInstance& s : recipe.stages) boost::add_vertex(StageVertex{s.id}, g.dag);
  for (const StageInstance& s : recipe.stages) {
    const auto to = static_cast<std::size_t>(s.id);
    if (s.model_in >= 0) boost::add_edge(static_cast<std::size_t>(s.model_in), to, StageEdge{EdgeKind::Model}, g.dag);
    if (s.data_in >= 0) boost::add_edge(static_cast<std::size_t>(s.data_in), to, StageEdge{EdgeKind::Data}, g.dag);
    for (int r : s.refs_in) boost::add_edge(static_cast<std::size_t>(r), to, StageEdge{EdgeKind::Ref}, g.dag);
  }
  // Kahn's algorithm, always taking the lowest-numbered ready stage: stages run (and are listed) in
  // the recipe's order wherever their inputs allow it, not in whatever order a depth-first search
  // finishes them.
  const std::size_t n = boost::num_vertices(g.dag);
  std::vector<int> indegree(n, 0);
  for (auto [e, end] = boost::edges(g.dag); e != end; ++e) ++indegree[boost::target(*e, g.dag)];
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  for (std::size_t v = 0; v < n; ++v)
    if (indegree[v] == 0) ready.push(v);
  while (!ready.empty()) {
    const std::size_t v = ready.top();
    ready.pop();
    g.order.push_back(static_cast<int>(v));
    for (auto [e, end] = boost::out_edges(v, g.dag); e != end; ++e)
      if (--indegree[boost::target(*e, g.dag)] == 0) ready.push(boost::target(*e, g.dag));
  }
  if (g.order.size() != n) throw boost::not_a_dag();
  return g;
}

std::vector<std::pair<EdgeKind, int>> StageGraph::inputs(int stage) const {
  const StageInstance& s = recipe->stages.at(static_cast<std::size_t>(stage));
  std::vector<std::pair<EdgeKind, int>> out;
  if (s.model_in >= 0) out.emplace_back(EdgeKind::Model, s.model_in);
  if (s.data_in >= 0) out.emplace_back(EdgeKind::Data, s.data_in);
  for (int r : s.refs_in) out.emplace_back(EdgeKind::Ref, r);
  return out;
}

std::string stage_summary(const StageInstance& s) {
  if (s.search) {  // as written: `lowest course2025 where accuracy >= 90%`
    const SearchSpace& sp = *s.search;
    const bool share = sp.metric != "loss" && sp.metric != "latency";
    return "lowest " + sp.objective + " where " + sp.metric + (sp.at_most ? " <= " : " >= ") +
           (share ? format_number(sp.bar * 100) + "%" : format_number(sp.bar));
  }
  std::string out;
  for (const CheckedParam& p : s.params) {
    if (p.origin != Origin::Given) continue;
    // As the recipe wrote it: an enum word bare unless it was named (`l1`, `of: all`), a quantity
    // bare only where it is the stage's positional value (`8 bits`, but `activations: 8 bits`).
    const ParamDef* def = s.def ? s.def->param(p.name) : nullptr;
    const bool positional_word = (p.value.kind == Val::Kind::Enum && !p.named) ||
                                 (p.value.kind == Val::Kind::Quantity && (!def || def->positional));
    // A named value given but equal to its default (`subset: $subset` with the let at 0) says
    // nothing; a word the recipe wrote (`l1`) is kept as written.
    if (s.def && !positional_word)
      if (def && !def->required && def->default_text == p.value.canonical()) continue;
    out += (out.empty() ? "" : " ") + (positional_word ? p.value.canonical() : p.name + ": " + p.value.canonical());
  }
  return out;
}

std::string graph_text(const StageGraph& g, const SourceMap& sources) {
  std::string out = fmt::format("recipe {}: {} stages\n", g.recipe->name, g.order.size());
  for (int id : g.order) {
    const StageInstance& s = g.recipe->stages[static_cast<std::size_t>(id)];
    std::string line = fmt::format("#{} {}", id, s.kind);
    const std::string summary = stage_summary(s);
    if (!summary.empty()) line += " " + summary;
    std::string ins;
    for (const auto& [kind, from] : g.inputs(id))
      ins += fmt::format("{}{} #{}", ins.empty() ? "" : ", ", edge_kind_name(kind), from);
    if (!ins.empty()) line += "  <- " + ins;
    const SourceFile& f = sources.file(s.span.file);
    line += fmt::format("  ({}:{}{})", f.name(), f.line_of(s.span.begin), s.where.empty() ? "" : ", " + s.where);
    out += line + "\n";
  }
  return out;
}

std::string graph_dot(const StageGraph& g, const SourceMap& sources) {
  auto escape = [](std::string s) {
    std::string out;
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out;
  };
  std::string out = fmt::format("digraph \"{}\" {{\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n",
                                escape(g.recipe->name));
  for (int id : g.order) {
    const StageInstance& s = g.recipe->stages[static_cast<std::size_t>(id)];
    std::string label = fmt::format("#{} {}", id, s.kind);
    const std::string summary = stage_summary(s);
    if (!summary.empty()) label += "\\n" + escape(summary);
    if (!s.where.empty()) label += "\\n[" + escape(s.where) + "]";
    const SourceFile& f = sources.file(s.span.file);
    out +=
        fmt::format("  s{} [label=\"{}\", tooltip=\"{}:{}\"];\n", id, label, escape(f.name()), f.line_of(s.span.begin));
  }
  for (int id : g.order)
    for (const auto& [kind, from] : g.inputs(id))
      out += fmt::format("  s{} -> s{}{};\n", from, id,
                         kind == EdgeKind::Model  ? ""
                         : kind == EdgeKind::Data ? " [style=dashed, color=gray]"
                                                  : " [style=dotted, label=\"reads\"]");
  return out + "}\n";
}

}  // namespace whittle::lang
