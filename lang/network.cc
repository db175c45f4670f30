// The elaborated network: its text forms (the canonical one for cache keys, the layer table).
#include "lang/network.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace whittle::lang::net {

std::string Shape::text() const { return flat ? std::to_string(c) : fmt::format("{}×{}×{}", c, h, w); }

Input dataset_input(const std::string& dataset) {
  if (dataset == "synthetic") return {{1, 12, 12, false}, 4};
  if (dataset == "fashion_mnist") return {{1, 28, 28, false}, 10};
  return {{3, 32, 32, false}, 10};
}

const char* op_name(Op op) {
  switch (op) {
    case Op::Sequential:
      return "sequential";
    case Op::Conv:
      return "conv";
    case Op::BatchNorm:
      return "bn";
    case Op::ReLU:
      return "relu";
    case Op::MaxPool:
      return "maxpool";
    case Op::AvgPool:
      return "avgpool";
    case Op::Dropout:
      return "dropout";
    case Op::Linear:
      return "linear";
    case Op::Residual:
      return "residual";
    case Op::Dense:
      return "dense";
    case Op::GELU:
      return "gelu";
    case Op::Whiten:
      return "whiten";
  }
  return "layer";
}

namespace {

/// What a table row says about a layer: its kind and options, as a PyTorch user reads them.
std::string describe(const Layer& l) {
  switch (l.op) {
    case Op::Conv: {
      std::string s = fmt::format("conv {}x{} {}→{}", l.kernel_h, l.kernel_w, l.in.c, l.out.c);
      if (l.stride != 1) s += fmt::format(" /{}", l.stride);
      if (l.groups != 1) s += fmt::format(" g{}", l.groups);
      if (l.bias) s += " +b";
      if (l.dirac) s += " dirac";
      return s;
    }
    case Op::Whiten:
      return fmt::format("whiten {}x{} {}→{}", l.kernel_h, l.kernel_w, l.in.c, l.out.c);
    case Op::BatchNorm:
      return l.learn_scale ? "bn" : "bn (scale 1)";
    case Op::MaxPool:
    case Op::AvgPool:
      return fmt::format("{} {}x{} /{}", op_name(l.op), l.kernel_h, l.kernel_w, l.stride);
    case Op::Dropout:
      return fmt::format("dropout {:g}", l.p);
    case Op::Linear:
      return fmt::format("linear {}→{}{}", l.in.size(), l.out.c, l.scale != 1 ? fmt::format(" ×{:.4g}", l.scale) : "");
    case Op::Residual:
      return l.children.size() == 2 && l.children[1].children.empty() ? "residual (identity)" : "residual (projection)";
    case Op::Dense:
      return fmt::format("dense ×{}", l.children.size());
    case Op::Sequential:
      return l.block.empty() ? "sequential" : l.block;
    default:
      return op_name(l.op);
  }
}

void canonical(const Layer& l, std::string& out) {
  out += l.name + "=" + op_name(l.op);
  switch (l.op) {
    case Op::Conv:
      out += fmt::format("({},{},{}x{},s{},p{},g{},b{})", l.in.c, l.out.c, l.kernel_h, l.kernel_w, l.stride, l.padding,
                         l.groups, l.bias ? 1 : 0);
      break;
    case Op::MaxPool:
    case Op::AvgPool:
      out += fmt::format("({}x{},s{},p{})", l.kernel_h, l.kernel_w, l.stride, l.padding);
      break;
    case Op::Dropout:
      out += fmt::format("({:.17g})", l.p);
      break;
    case Op::Linear:
      out += fmt::format("({},{},b{})", l.in.size(), l.out.c, l.bias ? 1 : 0);
      break;
    case Op::BatchNorm:
      out += fmt::format("({})", l.in.c);
      break;
    case Op::Whiten:
      out += fmt::format("({},{},{}x{},eps{:.17g},e{},n{})", l.in.c, l.out.c, l.kernel_h, l.kernel_w, l.eps,
                         l.bias_epochs, l.images);
      break;
    default:
      break;
  }
  // Options added after networks were first keyed: written only away from their defaults, so a
  // network that does not use them keeps its cache key.
  if (l.dirac) out += "[dirac]";
  if (l.op == Op::BatchNorm && (l.momentum != 0.1 || l.eps != 1e-5 || !l.learn_scale))
    out += fmt::format("[m{:.17g},eps{:.17g},s{}]", l.momentum, l.eps, l.learn_scale ? 1 : 0);
  if (l.op == Op::Linear && l.scale != 1) out += fmt::format("[x{:.17g}]", l.scale);
  if (!l.children.empty() || l.op == Op::Sequential) {
    out += "{";
    for (std::size_t i = 0; i < l.children.size(); ++i) {
      if (i) out += ";";
      canonical(l.children[i], out);
    }
    out += "}";
  }
}

void rows(const Layer& l, const std::string& path, int depth, std::vector<TableRow>& out) {
  out.push_back({path, describe(l), l.out, l.params, l.macs, depth, l.span});
  for (const Layer& c : l.children) rows(c, path.empty() ? c.name : path + "." + c.name, depth + 1, out);
}

std::string count(std::int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

}  // namespace

std::string Network::canonical() const {
  std::string out = fmt::format("network {} input {} classes {} ", name, input.text(), classes);
  net::canonical(root, out);
  return out;
}

std::vector<TableRow> table_rows(const Network& n) {
  std::vector<TableRow> out;
  for (const Layer& c : n.root.children) rows(c, c.name, 0, out);
  return out;
}

std::string layer_table(const Network& n) {
  const std::vector<TableRow> rs = table_rows(n);
  std::size_t path_w = 6, layer_w = 5;
  for (const TableRow& r : rs) {
    path_w = std::max(path_w, r.path.size() + 2 * static_cast<std::size_t>(r.depth));
    layer_w = std::max(layer_w, r.layer.size());
  }
  std::string out =
      fmt::format("network {}{}: input {}\n", n.name, n.args.empty() ? "" : "(" + n.args + ")", n.input.text());
  out += fmt::format("  {:<{}}  {:<{}}  {:>12}  {:>12}  {:>14}\n", "module", path_w, "layer", layer_w, "output",
                     "params", "MACs");
  for (const TableRow& r : rs)
    out += fmt::format("  {:<{}}  {:<{}}  {:>12}  {:>12}  {:>14}\n",
                       std::string(2 * static_cast<std::size_t>(r.depth), ' ') + r.path, path_w, r.layer, layer_w,
                       r.out.text(), count(r.params), count(r.macs));
  out += fmt::format("  {:<{}}  {:<{}}  {:>12}  {:>12}  {:>14}\n", "total", path_w, "", layer_w, n.root.out.text(),
                     count(n.root.params), count(n.root.macs));
  return out;
}

std::string layer_table_json(const Network& n) {
  nlohmann::json layers = nlohmann::json::array();
  for (const TableRow& r : table_rows(n))
    layers.push_back(
        {{"module", r.path}, {"layer", r.layer}, {"output", r.out.text()}, {"params", r.params}, {"macs", r.macs}});
  const nlohmann::json j = {{"network", n.name},    {"args", n.args},   {"input", n.input.text()},
                            {"classes", n.classes}, {"layers", layers}, {"params", n.root.params},
                            {"macs", n.root.macs}};
  return j.dump(2) + "\n";
}

}  // namespace whittle::lang::net
