// The checker's networks: the network's layers elaborated for the data in force (the `model` line
// that names it: check_network_use.cc; its size bound: check_network_size.cc): every shape inferred, every layer
// counted, every shape error reported at its line with the shapes in the message (codes E0401 to E0408).
// This file walks a network and its blocks; each layer is elaborated in check_network_layer.cc.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "lang/check_network.h"
#include "lang/suggest.h"

namespace whittle::lang {

using net::Layer;
using net::Op;
using net::Shape;

Layer sequential(std::vector<Layer> children, Shape in, Span span) {
  // A block that is one call of a `define`d block is that block (`dense 6 { bottleneck(k: 12) }`
  // names its layers `1.0.2`, not `1.0.0.2`).
  if (children.size() == 1 && children[0].op == Op::Sequential && !children[0].named) return std::move(children[0]);
  for (std::size_t i = 0; i < children.size(); ++i)
    if (!children[i].named) children[i].name = std::to_string(i);
  Layer s;
  s.op = Op::Sequential;
  s.span = span;
  s.in = in;
  s.out = children.empty() ? in : children.back().out;
  for (const Layer& c : children) {
    s.params += c.params;
    s.macs += c.macs;
  }
  s.children = std::move(children);
  return s;
}

/// Output size of a window of `k` at stride `s` with padding `p` over `n`; < 1 when it does not fit.
int window_out(int n, int k, int s, int p) { return n + 2 * p < k ? 0 : (n + 2 * p - k) / s + 1; }

std::shared_ptr<const net::Network> Checker::elaborate(const NetworkUse& use, const Scope& params,
                                                       const StageInstance& data, const ast::Stage& model) {
  const ast::Stmt& decl = *use.info->stmt;
  const Val* dataset = data.value("dataset");
  if (!dataset) return nullptr;
  const net::Input input = net::dataset_input(dataset->str);
  auto n = std::make_shared<net::Network>();
  n->name = decl.name;
  n->input = input.shape;
  n->classes = input.classes;
  for (const auto& [name, b] : params) n->args += (n->args.empty() ? "" : ", ") + name + ": " + b.val.canonical();
  NetContext c;
  c.classes = input.classes;
  c.model = model.span;
  std::vector<Scope> saved = std::move(scopes_);
  scopes_.assign(1, params);
  const std::size_t before = diags_.all().size();
  Shape cur = input.shape;
  std::vector<Layer> layers;
  const bool ok = net_block(decl.body, cur, layers, c);
  scopes_ = std::move(saved);
  for (std::size_t i = before; i < diags_.all().size(); ++i)
    diags_.all()[i].with_label(model.name_span, fmt::format("in `model {}` on {}", decl.name, dataset->str));
  if (!ok || !unique_names(layers)) return nullptr;
  if (!cur.flat) {
    if (!diags_.has("E0406", decl.name_span))
      diags_.add(
          Diagnostic::make("E0406", decl.name_span,
                           fmt::format("`{}` ends with a {} map, not a `linear` head", decl.name, cur.text()),
                           "no linear head")
              .with_label(model.name_span, fmt::format("built for {} here", dataset->str))
              .with_help(
                  "end the network with `avgpool global -> linear`: its outputs default to the data set's classes"));
    return nullptr;
  }
  if (cur.c != input.classes) {
    const Span at = c.linear_seen ? c.last_linear_span : decl.name_span;
    if (!diags_.has("E0406", at))
      diags_.add(Diagnostic::make("E0406", at,
                                  fmt::format("`{}` gives {} outputs, but {} has {} classes", decl.name, cur.c,
                                              dataset->str, input.classes),
                                  fmt::format("{} outputs", cur.c))
                     .with_label(model.name_span, fmt::format("built for {} here", dataset->str))
                     .with_help("write `linear` alone: its outputs default to the data set's classes"));
    return nullptr;
  }
  if (c.failed) return nullptr;  // errors reported, the head checked too
  n->root = sequential(std::move(layers), input.shape, decl.body_span);
  if (!network_fits(*n, decl.name_span, model.name_span, dataset->str)) return nullptr;
  return n;
}

bool Checker::net_block(const std::vector<ast::Stmt>& stmts, Shape& cur, std::vector<Layer>& out, NetContext& c) {
  using K = ast::Stmt::Kind;
  for (const ast::Stmt& s : stmts) {
    if (stopped_) return false;
    switch (s.kind) {
      case K::Chain:
        for (const ast::Stage& st : s.chain)
          if (!net_stage(st, cur, out, c)) return false;
        break;
      case K::Let:
        let(s, &s.value);
        break;
      case K::Repeat: {
        Type t;
        t.kind = TypeKind::Int;
        auto n = coerce(s.value, t);
        if (!n) return false;
        if (n->num < 1) {
          diags_.add(Diagnostic::make("E0203", n->span,
                                      fmt::format("`repeat {}` repeats its layers no times", format_number(n->num)),
                                      "must be at least 1")
                         .with_help("repeat takes a count of 1 or more; delete the block to leave it out"));
          return false;
        }
        const int times = static_cast<int>(std::min(n->num, 1e6));
        for (int r = 0; r < times; ++r) {
          const std::size_t before = diags_.all().size();
          if (!spend(s.span)) return false;
          const bool ok = net_block(s.body, cur, out, c);
          // Which time round it failed: `repeat 6 { conv 50% ... }` runs out of channels in one of them.
          for (std::size_t i = before; i < diags_.all().size(); ++i)
            diags_.all()[i].with_note(fmt::format("in repetition {} of {} of the `repeat` on line {}", r + 1, times,
                                                  sources_.file(s.span.file).line_of(s.span.begin)));
          if (!ok) return false;
        }
        break;
      }
      default: {
        static const char* names[] = {"recipe", "let",   "use",    "seed",  "from",
                                      "repeat", "sweep", "define", "chain", "network"};
        if (!diags_.has("E0407", s.span))
          diags_.add(
              Diagnostic::make("E0407", s.span,
                               fmt::format("`{}` has no place inside a network", names[static_cast<int>(s.kind)]),
                               "not a layer")
                  .with_help("a network holds layers, `residual` and `dense` blocks, `repeat`, `let` and calls of "
                             "`define`d blocks"));
        return false;
      }
    }
  }
  return true;
}

bool Checker::net_stage(const ast::Stage& st, Shape& cur, std::vector<Layer>& out, NetContext& c) {
  if (!spend(st.name_span)) return false;
  auto d = prog_.defines.find(st.name);
  if (d != prog_.defines.end()) return net_call(d->second, st, cur, out, c);
  if (const CallDef* layer = cat_.layer(st.name)) return net_layer(*layer, st, cur, out, c);
  if (diags_.has("E0102", st.name_span) || diags_.has("E0407", st.name_span)) return false;
  if (cat_.stage(st.name) || prog_.networks.count(st.name)) {
    diags_.add(
        Diagnostic::make("E0407", st.name_span,
                         fmt::format("`{}` is a {}, not a layer", st.name, cat_.stage(st.name) ? "stage" : "network"),
                         "not a layer")
            .with_help(cat_.stage(st.name)
                           ? "stages run on a model after `model NET`; inside the network, write layers"
                           : "a network cannot hold another; write the shared layers as a `define`d block"));
    return false;
  }
  std::vector<std::string> names;
  for (const CallDef& l : cat_.layers()) names.push_back(l.name);
  for (const auto& kv : prog_.defines) names.push_back(kv.first);
  diags_.add(Diagnostic::make("E0102", st.name_span, fmt::format("unknown layer `{}`", st.name), "not a layer")
                 .with_help(did_you_mean(st.name, names)
                                .value_or("`whittle doc layers` lists the layers; `define` makes blocks of them")));
  return false;
}

bool Checker::net_call(const DefineInfo& d, const ast::Stage& st, Shape& cur, std::vector<Layer>& out, NetContext& c) {
  const std::string& name = d.stmt->name;
  if (std::find(c.calls.begin(), c.calls.end(), name) != c.calls.end()) {
    diags_.add(Diagnostic::make("E0306", st.name_span, fmt::format("`{}` uses itself, so it would never end", name),
                                "recursive use")
                   .with_label(d.stmt->name_span, "defined here")
                   .with_help("use `repeat` or `dense` for layers that repeat"));
    return false;
  }
  if (c.calls.size() >= kMaxNesting) {
    diags_.add(Diagnostic::make("E0111", st.name_span,
                                fmt::format("`define`d blocks use each other more than {} deep", kMaxNesting),
                                "too deep")
                   .with_label(d.stmt->name_span, "defined here")
                   .with_help("use the blocks you need from fewer levels of `define`"));
    return false;
  }
  Scope params;
  if (!define_params(d, st.args, st.name_span, params)) return false;
  std::vector<Scope> saved = std::move(scopes_);
  scopes_.assign(1, std::move(params));
  c.calls.push_back(name);
  const std::size_t before = diags_.all().size();
  const Shape in = cur;
  std::vector<Layer> layers;
  const bool ok = net_block(d.stmt->body, cur, layers, c);
  for (std::size_t i = before; i < diags_.all().size(); ++i)
    diags_.all()[i].with_label(st.name_span, fmt::format("in this use of `{}`", name));
  c.calls.pop_back();
  scopes_ = std::move(saved);
  if (!ok || !unique_names(layers)) return false;
  // One layer stands for itself; several make a block, as a PyTorch helper returning nn.Sequential.
  Layer l = layers.size() == 1 ? std::move(layers.front()) : sequential(std::move(layers), in, st.span);
  if (layers.size() != 1) l.block = name;
  l.name.clear();
  l.named = !st.as_name.empty();
  if (l.named) l.name = st.as_name;
  out.push_back(std::move(l));
  return true;
}

bool Checker::unique_names(const std::vector<Layer>& block) {
  for (std::size_t i = 0; i < block.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const bool clash = block[i].named && block[j].named ? block[i].name == block[j].name
                         : block[i].named                 ? block[i].name == std::to_string(j)
                         : block[j].named                 ? block[j].name == std::to_string(i)
                                                          : false;
      if (!clash) continue;
      diags_.add(
          Diagnostic::make(
              "E0105", block[i].span,
              fmt::format("two modules of one block are named `{}`", block[i].named ? block[i].name : block[j].name),
              "named again here")
              .with_label(block[j].span, "first named here")
              .with_help("give one of them another `as` name (an unnamed layer is named by its index in its block)"));
      return false;
    }
  }
  return true;
}

}  // namespace whittle::lang
