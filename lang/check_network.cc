// The checker's networks: the network's layers elaborated for the data in force (the `model` line
// that names it: check_network_use.cc; its size bound: check_network_size.cc): every shape inferred, every layer
// counted, every shape error reported at its line with the shapes in the message (codes E0401 to E0408).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "lang/checker.h"
#include "lang/suggest.h"

namespace whittle::lang {
namespace {

using net::Layer;
using net::Op;
using net::Shape;

Op op_of(const std::string& layer) {
  if (layer == "conv") return Op::Conv;
  if (layer == "bn") return Op::BatchNorm;
  if (layer == "relu") return Op::ReLU;
  if (layer == "maxpool") return Op::MaxPool;
  if (layer == "avgpool") return Op::AvgPool;
  if (layer == "dropout") return Op::Dropout;
  if (layer == "linear") return Op::Linear;
  if (layer == "residual") return Op::Residual;
  if (layer == "gelu") return Op::GELU;
  if (layer == "whiten") return Op::Whiten;
  return Op::Dense;
}

/// A block of layers as one module: named as nn.Sequential names them (`as` names kept), counts
/// summed, shapes from the first to the last.
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

}  // namespace

/// State of one network's elaboration.
struct Checker::NetContext {
  int classes = 0;
  Span model;  ///< the `model` line, labelled on every error
  bool linear_seen = false;
  Span last_linear_span;
  bool failed = false;             ///< an error was reported and elaboration went on past it
  int layers = 0;                  ///< layers elaborated so far (a `whiten` must be the first)
  std::vector<std::string> calls;  ///< `define`d blocks being expanded, to refuse recursion
};

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

/// A layer being elaborated: its stage, its arguments with the defaults filled in, the map it
/// receives, the network's context, and the layer made so far; how its errors are said.
struct Checker::LayerDraft {
  const ast::Stage& st;
  const Shape& in;
  NetContext& c;
  Diagnostics& diags;
  std::map<std::string, Val> args;
  std::set<std::string> written;  ///< the arguments given in the recipe
  Layer l;

  int num(const char* k) const { return static_cast<int>(args.at(k).num); }
  double real(const char* k) const { return args.at(k).num; }
  bool on(const char* k) const { return args.at(k).num != 0; }
  const std::string& word(const char* k) const { return args.at(k).str; }
  bool given(const char* k) const { return written.count(k) > 0; }
  /// Reports an error after which this layer cannot be made; false.
  bool error(const char* code, Span at, std::string msg, std::string label, std::string help) {
    if (!diags.has(code, at))
      diags.add(Diagnostic::make(code, at, std::move(msg), std::move(label)).with_help(std::move(help)));
    return false;
  }
  /// Reports an error after which the shapes are still known: the layers after it are checked too,
  /// so that every independent error of a network is found in one pass (the network is not built).
  void go_on(const char* code, Span at, std::string msg, std::string label, std::string help) {
    error(code, at, std::move(msg), std::move(label), std::move(help));
    c.failed = true;
  }
};

bool Checker::layer_args(const CallDef& def, LayerDraft& d) {
  const ast::Stage& st = d.st;
  const auto given = bind_args(st.args, def.params, st.name, true);
  if (bind_failed_) return false;
  for (const ParamDef& p : def.params) {
    for (const auto& g : given)
      if (g.def == &p) {
        if (!g.ok) return false;
        d.args[p.name] = g.val;
        d.written.insert(p.name);
      }
    if (d.args.count(p.name)) continue;
    if (!p.has_default) {
      diags_.add(Diagnostic::make("E0205", st.name_span, fmt::format("`{}` needs its `{}`: {}", st.name, p.name, p.doc),
                                  fmt::format("`{}` missing", p.name))
                     .with_help(fmt::format("see `whittle doc {}`", st.name)));
      return false;
    }
    auto v = default_val(p, st.name_span);
    if (!v) return false;
    d.args[p.name] = *v;
  }
  return true;
}

bool Checker::block_fits(Op op, const ast::Stage& st) {
  const bool block = op == Op::Residual || op == Op::Dense;
  if (block != st.has_body) {
    diags_.add(Diagnostic::make("E0407", block ? st.name_span : st.body_span,
                                block ? fmt::format("`{}` needs a block of layers", st.name)
                                      : fmt::format("`{}` takes no block of layers", st.name),
                                block ? "no `{ LAYERS }`" : "a block of layers")
                   .with_help(block ? fmt::format("e.g. `{} {{ conv 16 channels -> bn -> relu }}`",
                                                  op == Op::Dense ? "dense 6" : "residual")
                                    : "only `residual` and `dense` hold layers"));
    return false;
  }
  return true;
}

bool Checker::map_fits(Op op, const ast::Stage& st, const Shape& cur, const NetContext& c) {
  const bool needs_map = op != Op::BatchNorm && op != Op::ReLU && op != Op::GELU && op != Op::Dropout &&
                         op != Op::Linear && op != Op::Residual;
  if (needs_map && cur.flat) {
    auto diag = Diagnostic::make(
        "E0405", st.name_span,
        fmt::format("`{}` needs a C×H×W map, but a `linear` before it made {} features", st.name, cur.c),
        "after the linear");
    if (c.linear_seen) diag.with_label(c.last_linear_span, "flattened here");
    diag.with_help(
        "a network's `linear` comes last (a `bn`, `relu` or `dropout` may follow it); move this layer before it");
    if (!diags_.has("E0405", st.name_span)) diags_.add(std::move(diag));
    return false;
  }
  return true;
}

bool Checker::net_layer(const CallDef& def, const ast::Stage& st, Shape& cur, std::vector<Layer>& out, NetContext& c) {
  const Op op = op_of(def.name);
  LayerDraft d{st, cur, c, diags_, {}, {}, {}};
  if (!block_fits(op, st) || !layer_args(def, d) || !map_fits(op, st, cur, c)) return false;
  Layer& l = d.l;
  l.op = op;
  l.span = st.span;
  l.in = cur;
  l.named = !st.as_name.empty();
  l.name = st.as_name;
  bool made = true;
  switch (op) {
    case Op::Conv:
      made = conv_layer(d);
      break;
    case Op::BatchNorm:
      l.out = cur;
      l.params = 2LL * cur.c;
      l.momentum = d.real("momentum");
      l.eps = d.real("eps");
      l.learn_scale = d.on("learn_scale");
      break;
    case Op::ReLU:
    case Op::GELU:
      l.out = cur;
      break;
    case Op::Whiten:
      made = whiten_layer(d);
      break;
    case Op::Dropout:
      l.out = cur;
      l.p = d.real("p") / 100.0;
      break;
    case Op::MaxPool:
    case Op::AvgPool:
      made = pool_layer(d);
      break;
    case Op::Linear: {
      const int n = d.num("outputs") > 0 ? d.num("outputs") : c.classes;
      l.bias = d.on("bias");
      l.scale = d.real("scale");
      l.out = {n, 1, 1, true};
      l.params = cur.size() * n + (l.bias ? n : 0);
      l.macs = cur.size() * n;
      c.linear_seen = true;
      c.last_linear_span = st.span;
      break;
    }
    case Op::Residual:
      made = residual_layer(d);
      break;
    case Op::Dense:
      made = dense_layer(d);
      break;
    case Op::Sequential:
      break;
  }
  if (!made) return false;
  ++c.layers;
  cur = l.out;
  out.push_back(std::move(l));
  return true;
}

bool Checker::conv_layer(LayerDraft& d) {
  const ast::Stage& st = d.st;
  const Shape& cur = d.in;
  Layer& l = d.l;
  int ch = d.num("channels");
  if (d.given("channels") == d.given("share"))
    return d.error(
        "E0205", st.name_span,
        d.given("channels") ? "`conv` takes its channels or a percentage, not both" : "`conv` needs its channels",
        d.given("channels") ? "both given" : "`channels` missing",
        "e.g. `conv 64 channels`, or `conv 50%` for half the input channels");
  if (d.given("share")) ch = static_cast<int>(std::floor(d.real("share") / 100.0 * cur.c + 1e-9));
  if (ch < 1) {
    d.go_on("E0203", st.name_span, fmt::format("`{}` leaves no channels of the {} it receives", st.name, cur.c),
            "0 channels", "a conv makes at least 1 channel");
    ch = 1;
  }
  l.kernel_h = l.kernel_w = d.num("kernel");
  l.stride = d.num("stride");
  l.padding = d.num("padding") < 0 ? l.kernel_h / 2 : d.num("padding");
  l.groups = d.num("groups");
  if (d.on("depthwise")) {
    if (d.given("groups"))
      return d.error("E0208", st.name_span, "`depthwise: true` sets the groups: give one of `groups:` and `depthwise:`",
                     "both given", "drop `groups:`");
    l.groups = cur.c;
  }
  l.bias = d.on("bias");
  l.dirac = d.word("init") == "dirac";
  if (cur.c % l.groups != 0 || ch % l.groups != 0) {
    d.go_on(
        "E0403", st.name_span,
        fmt::format("`groups: {}` must divide both the {} channels in and the {} channels out", l.groups, cur.c, ch),
        fmt::format("{} in, {} out", cur.c, ch), fmt::format("choose groups that divide both {} and {}", cur.c, ch));
    l.groups = 1;
  }
  if (l.dirac && l.groups != 1)
    d.go_on("E0208", st.name_span, "`init: dirac` is for convs of one group", fmt::format("groups: {}", l.groups),
            "leave `init:` out of a grouped or depthwise conv");
  l.out = {ch, window_out(cur.h, l.kernel_h, l.stride, l.padding), window_out(cur.w, l.kernel_w, l.stride, l.padding),
           false};
  if (l.out.h < 1 || l.out.w < 1)
    return d.error("E0402", st.name_span,
                   fmt::format("a {}x{} kernel with padding {} does not fit the {} map it receives", l.kernel_h,
                               l.kernel_w, l.padding, cur.text()),
                   "map below 1×1", "use a smaller kernel, more padding, or fewer poolings before it");
  l.params = static_cast<std::int64_t>(ch) * (cur.c / l.groups) * l.kernel_h * l.kernel_w + (l.bias ? ch : 0);
  l.macs = static_cast<std::int64_t>(ch) * l.out.h * l.out.w * (cur.c / l.groups) * l.kernel_h * l.kernel_w;
  return true;
}

bool Checker::whiten_layer(LayerDraft& d) {
  const ast::Stage& st = d.st;
  const Shape& cur = d.in;
  Layer& l = d.l;
  // Computed from the training images as the data set gives them: nothing may come before it.
  if (d.c.layers > 0)
    return d.error("E0407", st.name_span, "`whiten` must be the network's first layer", "after other layers",
                   "move it to the start: its filters are computed from the training images themselves");
  const int k = d.num("kernel");
  l.kernel_h = l.kernel_w = k;
  l.bias = true;
  l.eps = d.real("eps");
  l.bias_epochs = d.num("bias_epochs");
  l.images = d.num("images");
  const int dims = cur.c * k * k;
  l.out = {2 * dims, window_out(cur.h, k, 1, 0), window_out(cur.w, k, 1, 0), false};
  if (l.out.h < 1 || l.out.w < 1)
    return d.error("E0402", st.name_span, fmt::format("a {}x{} patch does not fit the {} images", k, k, cur.text()),
                   "map below 1×1", "use a smaller `kernel:`");
  l.params = static_cast<std::int64_t>(l.out.c) * dims + l.out.c;
  l.macs = static_cast<std::int64_t>(l.out.c) * l.out.h * l.out.w * dims;
  return true;
}

bool Checker::pool_layer(LayerDraft& d) {
  const ast::Stage& st = d.st;
  const Shape& cur = d.in;
  Layer& l = d.l;
  const bool global = d.word("extent") == "global";
  l.kernel_h = global ? cur.h : d.num("kernel");
  l.kernel_w = global ? cur.w : d.num("kernel");
  l.stride = global ? std::max(cur.h, cur.w) : d.num("stride") ? d.num("stride") : l.kernel_h;
  l.padding = global ? 0 : d.num("padding");
  if (2 * l.padding > l.kernel_h)
    d.go_on("E0203", st.name_span,
            fmt::format("padding {} is more than half the {}x{} window", l.padding, l.kernel_h, l.kernel_w),
            "too much padding", "PyTorch allows at most half the window");
  l.out = {cur.c, window_out(cur.h, l.kernel_h, l.stride, l.padding),
           window_out(cur.w, l.kernel_w, l.stride, l.padding), false};
  if (l.out.h < 1 || l.out.w < 1)
    return d.error(
        "E0402", st.name_span,
        fmt::format("a {}x{} window does not fit the {} map it receives", l.kernel_h, l.kernel_w, cur.text()),
        "map below 1×1", "pool less often, or use `global` to pool the whole map");
  return true;
}

bool Checker::residual_layer(LayerDraft& d) {
  const ast::Stage& st = d.st;
  const Shape& cur = d.in;
  Layer& l = d.l;
  Shape body_out = cur;
  std::vector<Layer> body;
  if (!net_block(st.body, body_out, body, d.c) || !unique_names(body)) return false;
  const std::string& kind = d.word("shortcut");
  std::vector<Layer> shortcut;
  if (kind == "identity" && body_out != cur)
    d.go_on(
        "E0401", st.name_span,
        fmt::format("the body turns {} into {}, so it cannot be added to the identity", cur.text(), body_out.text()),
        "shape changed",
        "write `shortcut: projection` (or leave `shortcut:` out) for a 1x1 conv and BN that match the shapes");
  else if (kind == "projection" || (kind == "auto" && body_out != cur)) {
    const int s = body_out.flat || cur.flat || body_out.h < 1 ? 0 : (cur.h + body_out.h - 1) / body_out.h;
    if (s < 1 || window_out(cur.h, 1, s, 0) != body_out.h || window_out(cur.w, 1, s, 0) != body_out.w)
      return d.error("E0401", st.name_span,
                     fmt::format("no 1x1 projection turns {} into the body's {}", cur.text(), body_out.text()),
                     "shapes do not match", "keep the body's map a whole-number stride of its input's");
    Layer conv;
    conv.op = Op::Conv;
    conv.span = st.span;
    conv.in = cur;
    conv.kernel_h = conv.kernel_w = 1;
    conv.stride = s;
    conv.out = body_out;
    conv.params = static_cast<std::int64_t>(body_out.c) * cur.c;
    conv.macs = conv.params * body_out.h * body_out.w;
    Layer bn;
    bn.op = Op::BatchNorm;
    bn.span = st.span;
    bn.in = bn.out = body_out;
    bn.params = 2LL * body_out.c;
    shortcut.push_back(std::move(conv));
    shortcut.push_back(std::move(bn));
  }
  Layer b = sequential(std::move(body), cur, st.body_span);
  b.name = "body";
  b.named = true;
  Layer sc = sequential(std::move(shortcut), cur, st.span);
  sc.name = "shortcut";
  sc.named = true;
  l.params = b.params + sc.params;
  l.macs = b.macs + sc.macs;
  l.out = body_out;
  l.children = {std::move(b), std::move(sc)};
  return true;
}

bool Checker::dense_layer(LayerDraft& d) {
  const ast::Stage& st = d.st;
  Layer& l = d.l;
  const int n = d.num("count");
  Shape x = d.in;
  for (int i = 0; i < n; ++i) {
    if (!spend(st.name_span)) return false;
    Shape y = x;
    std::vector<Layer> body;
    if (!net_block(st.body, y, body, d.c) || !unique_names(body)) return false;
    if (y.flat || y.h != x.h || y.w != x.w)
      return d.error(
          "E0404", st.body_span,
          fmt::format(
              "the body turns {} into {}: a dense block concatenates its input, so the map's size must stay {}×{}",
              x.text(), y.text(), x.h, x.w),
          "size changed", "keep stride 1 and padding kernel/2 in the body; pool in a transition after the dense block");
    Layer b = sequential(std::move(body), x, st.body_span);
    l.params += b.params;
    l.macs += b.macs;
    l.children.push_back(std::move(b));
    if (static_cast<std::int64_t>(y.c) + x.c > (1 << 24))
      return d.error("E0203", st.body_span, fmt::format("the dense block grows past {} channels", 1 << 24),
                     "too many channels", "fewer layers, or a transition between dense blocks");
    x = {y.c + x.c, x.h, x.w, false};
  }
  for (std::size_t i = 0; i < l.children.size(); ++i) {
    l.children[i].name = std::to_string(i);
    l.children[i].named = true;
  }
  l.out = x;
  return true;
}

}  // namespace whittle::lang
