// One layer of a network, elaborated for the map it receives (check_network.cc walks the network and
// its blocks): its arguments bound, its output shape inferred, its parameters and MACs counted, and
// every shape error reported at its line with the shapes in the message. One function per kind of layer.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "lang/check_network.h"

namespace whittle::lang {

using net::Layer;
using net::Op;
using net::Shape;

namespace {

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

}  // namespace

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
