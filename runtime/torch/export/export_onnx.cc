// `export "m.onnx"` (export.h): the model traced by LibTorch's JIT (as for TorchScript), frozen so
// that every weight is a constant (quantized weights as the values they compute with), and each
// ATen operation of the graph written as its ONNX operator (opset 13) with the protobuf types of
// Debian's libonnx, checked by onnx's checker. Read back by OpenCV's DNN module for the parity check.
#include <fmt/format.h>

#include "runtime/plan/stage.h"
#include "runtime/torch/export/export.h"

#if WHITTLE_WITH_ONNX
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/script.h>

#include <opencv2/dnn.hpp>

#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "runtime/torch/compression/quant.h"
#include "runtime/torch/export/export_trace.h"
#endif

namespace whittle::runtime::torchrt {

#if WHITTLE_WITH_ONNX
namespace {

using torch::jit::Node;
using torch::jit::Value;

/// Writes one graph: names its values, turns constant tensors into initializers.
struct Writer {
  onnx::GraphProto& g;
  /// The model's parameters and buffers by their module names ("features.0.weight"): an
  /// initializer equal to one takes its name.
  std::vector<std::pair<std::string, torch::Tensor>> known;
  std::map<const Value*, std::string> names;
  std::map<const Value*, std::vector<const Value*>> lists;
  std::set<std::string> used;          ///< every name given, so that each is unique
  std::set<std::string> node_outputs;  ///< the names of values a node computes
  int next = 0;

  /// `base` if no value has it yet, else `base_N`.
  std::string unique(const std::string& base) {
    std::string name = base;
    while (!used.insert(name).second) name = fmt::format("{}_{}", base, next++);
    return name;
  }
  /// The weights quantized layers compute with (not the stored latent ones),
  /// by their layer's name: "layer1.0.conv1.weight".
  std::vector<std::pair<std::string, torch::Tensor>> computed;
  /// The module name of the parameter or buffer `t` is (the same storage), or of the weight a layer
  /// computes with that `t` equals; "" when none.
  std::string known_name(const torch::Tensor& t) const {
    for (const auto& [name, k] : known)
      if (k.data_ptr() == t.data_ptr() && k.numel() == t.numel()) return name;
    for (const auto& [name, k] : computed)
      if (k.sizes() == t.sizes() && torch::equal(k, t.to(torch::kFloat))) return name;
    return "";
  }

  static c10::IValue constant(const Value* v) {
    auto iv = torch::jit::toIValue(v);
    if (!iv)
      throw StageError(fmt::format("ONNX export: `{}` is not a constant", v->debugName()),
                       "this is a whittle bug: report it");
    return *iv;
  }
  /// An int list argument, a single value standing for both dimensions (`avg_pool2d(x, 2)`).
  static std::vector<std::int64_t> ints(const Value* v) {
    std::vector<std::int64_t> out = constant(v).toIntVector();
    if (out.size() == 1) out.push_back(out[0]);
    return out;
  }
  static bool none(const Value* v) { return v->type()->kind() == c10::TypeKind::NoneType; }

  std::string tensor(const torch::Tensor& t) {
    const std::string module = known_name(t);
    const torch::Tensor c = t.to(torch::kFloat).contiguous();
    const std::string name = unique(module.empty() ? "const" : module);
    onnx::TensorProto* p = g.add_initializer();
    p->set_name(name);
    p->set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : t.sizes()) p->add_dims(d);
    p->set_raw_data(
        std::string(static_cast<const char*>(c.data_ptr()), static_cast<std::size_t>(c.numel()) * sizeof(float)));
    return name;
  }

  std::string int64s(const std::vector<std::int64_t>& v) {
    const std::string name = unique("shape");
    onnx::TensorProto* p = g.add_initializer();
    p->set_name(name);
    p->set_data_type(onnx::TensorProto::INT64);
    p->add_dims(static_cast<std::int64_t>(v.size()));
    p->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(std::int64_t)));
    return name;
  }

  /// The name of a tensor value: an earlier node's output, or a constant written as an initializer.
  std::string in(const Value* v) {
    auto it = names.find(v);
    if (it != names.end()) return it->second;
    const c10::IValue c = constant(v);
    const std::string name = c.isTensor() ? tensor(c.toTensor()) : tensor(torch::tensor(c.toScalar().toDouble()));
    names[v] = name;
    return name;
  }

  /// A node computing `out`: named after its module where its weight has one ("features.0" for
  /// the conv whose weight is "features.0.weight"), else after its operation ("relu_7").
  onnx::NodeProto& node(const std::string& op, std::vector<std::string> inputs, const Value* out) {
    onnx::NodeProto& n = step(op, std::move(inputs));
    names[out] = n.output(0);
    return n;
  }
  /// A node of its own name whose output that name is: one step of an operation written as several.
  onnx::NodeProto& step(const std::string& op, std::vector<std::string> inputs) {
    onnx::NodeProto* n = g.add_node();
    n->set_op_type(op);
    const bool weighted = (op == "Conv" || op == "Gemm" || op == "BatchNormalization") && inputs.size() > 1;
    const std::string& w = weighted ? inputs[1] : std::string();
    std::string base = w.size() > 7 && w.compare(w.size() - 7, 7, ".weight") == 0 ? w.substr(0, w.size() - 7) : "";
    if (base.empty()) {
      base = op;
      for (char& ch : base) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      base += fmt::format("_{}", next++);
    }
    const std::string name = unique(base);
    n->set_name(name);
    for (auto& i : inputs) n->add_input(i);
    node_outputs.insert(name);
    n->add_output(name);
    return *n;
  }
  /// Renames a node's output (the graph's result becomes `logits`).
  void rename(const std::string& from, const std::string& to) {
    for (auto& n : *g.mutable_node()) {
      for (auto& o : *n.mutable_output())
        if (o == from) o = to;
      for (auto& i : *n.mutable_input())
        if (i == from) i = to;
    }
    for (auto& [v, name] : names)
      if (name == from) name = to;
    node_outputs.erase(from);
    node_outputs.insert(to);
    used.insert(to);
  }
  static void attr(onnx::NodeProto& n, const char* name, const std::vector<std::int64_t>& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }
  static void attr(onnx::NodeProto& n, const char* name, std::int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr_f(onnx::NodeProto& n, const char* name, double v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(static_cast<float>(v));
  }
  static std::vector<std::int64_t> pads(const std::vector<std::int64_t>& p) {
    return {p.at(0), p.at(1), p.at(0), p.at(1)};
  }

  void convert(const Node* n) {
    const std::string k = n->kind().toQualString();
    auto I = [&](std::size_t i) { return n->inputs().at(i); };
    const Value* out = n->outputs().at(0);
    if (k == "prim::Constant") return;
    if (k == "prim::ListConstruct") {
      lists[out] = {n->inputs().begin(), n->inputs().end()};
      return;
    }
    if (k == "aten::_convolution" || k == "aten::conv2d") {
      const bool full = k == "aten::_convolution";
      if (full && constant(I(6)).toBool()) throw unsupported("a transposed convolution");
      const torch::Tensor w = constant(I(1)).toTensor();
      std::vector<std::string> ins = {in(I(0)), in(I(1))};
      if (!none(I(2))) ins.push_back(in(I(2)));
      auto& c = node("Conv", ins, out);
      attr(c, "kernel_shape", {w.size(2), w.size(3)});
      attr(c, "strides", ints(I(3)));
      attr(c, "pads", pads(ints(I(4))));
      attr(c, "dilations", ints(I(5)));
      attr(c, "group", constant(I(full ? 8 : 6)).toInt());
    } else if (k == "aten::batch_norm") {
      auto& b = node("BatchNormalization", {in(I(0)), in(I(1)), in(I(2)), in(I(3)), in(I(4))}, out);
      attr_f(b, "epsilon", constant(I(7)).toDouble());
    } else if (k == "aten::relu" || k == "aten::relu_") {
      node("Relu", {in(I(0))}, out);
    } else if (k == "aten::gelu") {
      // x·Φ(x) = 0.5·x·(1 + erf(x/√2)), with opset 13's Erf.
      if (n->inputs().size() > 1 && constant(I(1)).toStringRef() != "none")
        throw unsupported("GELU's tanh approximation");
      const std::string x = in(I(0));
      const std::string erf =
          step("Erf", {step("Div", {x, tensor(torch::tensor(static_cast<float>(std::sqrt(2.0))))}).output(0)})
              .output(0);
      const std::string one_plus = step("Add", {erf, tensor(torch::tensor(1.0f))}).output(0);
      node("Mul", {step("Mul", {x, one_plus}).output(0), tensor(torch::tensor(0.5f))}, out);
    } else if (auto per_channel = channel_constant(n); per_channel.defined()) {
      // x - c, x / c, x * c or x + c with c per channel ([1, C, 1, 1]: the input normalisation):
      // written as a BatchNormalization (scale and shift), which every runtime fuses.
      const auto C = per_channel.numel();
      const torch::Tensor c = per_channel.reshape({C}).to(torch::kFloat);
      torch::Tensor scale = torch::ones({C}), shift = torch::zeros({C});
      if (k == "aten::sub")
        shift = -c;
      else if (k == "aten::add" || k == "aten::add_")
        shift = c;
      else if (k == "aten::mul")
        scale = c;
      else
        scale = 1 / c;
      auto& b =
          node("BatchNormalization",
               {in(I(0)), tensor(scale), tensor(shift), tensor(torch::zeros({C})), tensor(torch::ones({C}))}, out);
      attr_f(b, "epsilon", 0);
    } else if (k == "aten::add" || k == "aten::add_" || k == "aten::sub") {
      if (constant(I(2)).toScalar().toDouble() != 1.0) throw unsupported("an addition with alpha");
      node(k == "aten::sub" ? "Sub" : "Add", {in(I(0)), in(I(1))}, out);
    } else if (k == "aten::mul" || k == "aten::div") {
      node(k == "aten::mul" ? "Mul" : "Div", {in(I(0)), in(I(1))}, out);
    } else if (k == "aten::cat") {
      std::vector<std::string> ins;
      for (const Value* v : lists.at(I(0))) ins.push_back(in(v));
      attr(node("Concat", ins, out), "axis", constant(I(1)).toInt());
    } else if (k == "aten::max_pool2d" || k == "aten::avg_pool2d") {
      const bool max = k == "aten::max_pool2d";
      if (constant(I(max ? 5 : 4)).toBool()) throw unsupported("pooling with ceil_mode");
      auto kernel = ints(I(1)), stride = ints(I(2));
      if (stride.empty()) stride = kernel;
      auto& p = node(max ? "MaxPool" : "AveragePool", {in(I(0))}, out);
      attr(p, "kernel_shape", kernel);
      attr(p, "strides", stride);
      attr(p, "pads", pads(ints(I(3))));
      if (!max) attr(p, "count_include_pad", constant(I(5)).toBool() ? 1 : 0);
    } else if (k == "aten::adaptive_avg_pool2d" || k == "aten::adaptive_max_pool2d") {
      if (ints(I(1)) != std::vector<std::int64_t>{1, 1}) throw unsupported("adaptive pooling to more than 1x1");
      node(k == "aten::adaptive_avg_pool2d" ? "GlobalAveragePool" : "GlobalMaxPool", {in(I(0))}, out);
    } else if (k == "aten::flatten") {
      if (constant(I(2)).toInt() != -1) throw unsupported("a flatten that keeps trailing dimensions");
      attr(node("Flatten", {in(I(0))}, out), "axis", constant(I(1)).toInt());
    } else if (k == "aten::addmm") {
      // bias + x·W where W is the linear's weight transposed: written as Gemm(x, weight, bias)
      // with transB, PyTorch's own form, which every runtime reads.
      const c10::IValue w = constant(I(2));
      auto& m = node("Gemm", {in(I(1)), tensor(w.toTensor().t()), in(I(0))}, out);
      attr(m, "transB", 1);
      attr_f(m, "beta", constant(I(3)).toScalar().toDouble());
      attr_f(m, "alpha", constant(I(4)).toScalar().toDouble());
    } else if (k == "aten::matmul" && I(1)->node()->kind() == c10::prim::Constant &&
               constant(I(1)).toTensor().dim() == 2) {
      attr(node("Gemm", {in(I(0)), tensor(constant(I(1)).toTensor().t())}, out), "transB", 1);  // a linear without bias
    } else if (k == "aten::linear") {
      std::vector<std::string> ins = {in(I(0)), in(I(1))};
      if (!none(I(2))) ins.push_back(in(I(2)));
      attr(node("Gemm", ins, out), "transB", 1);
    } else if (k == "aten::slice") {
      const std::int64_t start = none(I(2)) ? 0 : constant(I(2)).toInt();
      const std::int64_t end = none(I(3)) ? std::numeric_limits<std::int64_t>::max() : constant(I(3)).toInt();
      node("Slice",
           {in(I(0)), int64s({start}), int64s({end}), int64s({constant(I(1)).toInt()}),
            int64s({constant(I(4)).toInt()})},
           out);
    } else if (k == "aten::constant_pad_nd") {
      // PyTorch pads from the last dimension: (w_begin, w_end, h_begin, h_end, ...); ONNX all
      // begins, then all ends, from the first dimension.
      const std::vector<std::int64_t> p = constant(I(1)).toIntVector();
      const auto rank = static_cast<std::int64_t>(I(0)->type()->expectRef<c10::TensorType>().dim().value_or(4));
      std::vector<std::int64_t> pads(static_cast<std::size_t>(2 * rank), 0);
      for (std::size_t i = 0; 2 * i + 1 < p.size(); ++i) {
        const auto d = static_cast<std::size_t>(rank - 1) - i;
        pads[d] = p[2 * i];
        pads[d + static_cast<std::size_t>(rank)] = p[2 * i + 1];
      }
      node("Pad",
           {in(I(0)), int64s(pads), tensor(torch::tensor(static_cast<float>(constant(I(2)).toScalar().toDouble())))},
           out);
    } else if (k == "aten::dropout" || k == "aten::contiguous") {
      node("Identity", {in(I(0))}, out);
    } else {
      throw unsupported(fmt::format("the operation `{}`", k));
    }
  }

  /// For `x op c` with c a constant [1, C, 1, 1] tensor (and alpha 1): c; else an undefined tensor.
  static torch::Tensor channel_constant(const Node* n) {
    const std::string k = n->kind().toQualString();
    if (k != "aten::sub" && k != "aten::add" && k != "aten::add_" && k != "aten::mul" && k != "aten::div") return {};
    if (n->inputs().size() < 2 || n->inputs()[1]->node()->kind() != c10::prim::Constant) return {};
    if ((k == "aten::sub" || k == "aten::add" || k == "aten::add_") &&
        constant(n->inputs()[2]).toScalar().toDouble() != 1.0)
      return {};
    const c10::IValue c = constant(n->inputs()[1]);
    if (!c.isTensor()) return {};
    const torch::Tensor t = c.toTensor();
    if (t.dim() != 4 || t.size(0) != 1 || t.size(2) != 1 || t.size(3) != 1) return {};
    return t;
  }

  static StageError unsupported(const std::string& what) {
    return StageError(fmt::format("ONNX export cannot write {} of this model", what),
                      "export it as TorchScript (`format: torchscript`), which runs every operation LibTorch has");
  }
};

}  // namespace

namespace {

/// The ONNX file and what it was written from: the frozen graph and the ONNX name of each value.
struct Written {
  torch::jit::Module frozen;
  std::shared_ptr<torch::jit::Graph> graph;
  std::map<const Value*, std::string> names;
  std::set<std::string> node_outputs;  ///< the names of values a node computes
  std::string bytes;
};

Written write_onnx(const Net& net, const Dataset& data, bool normalize) {
  if (!net.int8.empty())
    throw StageError("a model converted to int8 cannot be exported as ONNX by this build",
                     "export it before `convert`: its weights then go out as the values they compute with");
  for (const auto& l : net.layers())
    if (l.layer->quant && spec_of(*l.layer->quant).abits < 32)
      throw StageError(
          fmt::format("ONNX export does not write quantized activations yet (`{}` quantizes its input to {} bits)",
                      l.name, spec_of(*l.layer->quant).abits),
          "export as TorchScript (`format: torchscript`), which computes them as whittle does; or export before "
          "quantizing the activations");
  torch::jit::Module traced = traced_module(net, data, normalize);
  torch::jit::Module frozen = torch::jit::freeze_module(traced);
  std::shared_ptr<torch::jit::Graph> graph = frozen.get_method("forward").graph()->copy();
  torch::jit::Inline(*graph);
  torch::jit::ConstantPropagation(graph);
  torch::jit::EliminateDeadCode(graph);
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("whittle");
  model.add_opset_import()->set_version(13);
  onnx::GraphProto& g = *model.mutable_graph();
  g.set_name("whittle");
  Writer w{g};
  for (const auto& p : net.module->named_parameters()) w.known.emplace_back(p.key(), p.value());
  for (const auto& b : net.module->named_buffers()) w.known.emplace_back(b.key(), b.value());
  for (const auto& l : net.layers())
    if (l.layer->quant)
      w.computed.emplace_back(l.name + ".weight", Net::effective_weight(l).detach().to(torch::kCPU, torch::kFloat));
  const Value* x = graph->inputs().at(1);
  w.names[x] = "input";
  w.used.insert("input");
  auto shape_of = [](onnx::ValueInfoProto* v, const std::string& name, std::vector<std::int64_t> dims) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    auto* s = t->mutable_shape();
    s->add_dim()->set_dim_param("batch");
    for (auto d : dims) s->add_dim()->set_dim_value(d);
  };
  shape_of(g.add_input(), "input", {data.train_x.size(1), data.train_x.size(2), data.train_x.size(3)});
  for (const Node* n : graph->nodes()) {
    try {
      w.convert(n);
    } catch (const std::out_of_range&) {
      throw Writer::unsupported(fmt::format("`{}` with {} inputs", n->kind().toQualString(), n->inputs().size()));
    } catch (const c10::Error& e) {
      throw Writer::unsupported(fmt::format("`{}` ({})", n->kind().toQualString(), e.what_without_backtrace()));
    }
  }
  const std::string result = w.in(graph->outputs().at(0));
  const bool computed = w.node_outputs.count(result) > 0;
  if (computed) w.rename(result, "logits");
  shape_of(g.add_output(), computed ? "logits" : result, {data.classes});
  auto meta = [&model](const std::string& key, const std::string& value) {
    auto* m = model.add_metadata_props();
    m->set_key(key);
    m->set_value(value);
  };
  meta("whittle.normalize", normalize && !data.mean.empty() ? "in the graph" : "no");
  meta("whittle.dataset", data.name);
  // How each layer was quantized: its weights are in the file as the values they compute with.
  for (const auto& l : net.layers())
    if (l.layer->quant) {
      const QuantSpec& q = spec_of(*l.layer->quant);
      meta("whittle.quantization." + l.name, fmt::format("{} {} bits, activations {} bits", q.method, q.bits, q.abits));
      // Uniform weights are exact multiples of their scales (symmetric, zero point 0): the scales
      // let a deployment requantize them to int8 without loss.
      if (q.method == "uniform" && q.bits <= 8) {
        const torch::Tensor w =
            l.weight.detach().to(torch::kCPU, torch::kFloat).abs();  // as the quantizer computes them
        const double levels = std::ldexp(1.0, q.bits - 1) - 1;
        const torch::Tensor scale =
            torch::clamp_min((q.per_channel ? w.flatten(1).amax(1) : w.max().reshape({1})) / levels, 1e-12);
        std::string list;
        for (std::int64_t i = 0; i < scale.numel(); ++i)
          list += fmt::format("{}{:.9g}", i ? ", " : "", scale[i].item<double>());
        meta("whittle.quantization." + l.name + ".scales", "[" + list + "]");
      }
    }
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw StageError(fmt::format("the ONNX graph whittle wrote fails onnx's checker: {}", e.what()),
                     "this is a whittle bug: report it");
  }
  return {frozen, graph, w.names, w.node_outputs, model.SerializeAsString()};
}

}  // namespace

std::string onnx_bytes(const Net& net, const Dataset& data, bool normalize) {
  return write_onnx(net, data, normalize).bytes;
}

std::string onnx_divergence(const Net& net, const Dataset& data, bool normalize, const std::string& bytes,
                            double tolerance) {
  Written w = write_onnx(net, data, normalize);
  if (w.bytes != bytes) return "";  // not the file this model writes
  cv::dnn::Net cvnet = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
  cvnet.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  cvnet.enableFusion(false);  // every named output as its own layer computes it
  // Every value the file names, in the graph's order, made an output of the frozen graph (run by
  // LibTorch's JIT: the reference, the graph whittle traced) and asked of OpenCV by its name.
  std::vector<Value*> values;
  std::vector<cv::String> names;
  std::vector<std::string> kinds;
  int layer = 0;
  std::vector<int> layer_index;
  for (Node* n : w.graph->nodes()) {
    if (n->outputs().size() != 1) continue;
    auto it = w.names.find(n->output());
    if (it == w.names.end() || !w.node_outputs.count(it->second)) continue;
    const std::string k = n->kind().toQualString();
    const bool weighted = k == "aten::_convolution" || k == "aten::linear" || k == "aten::addmm" || k == "aten::matmul";
    if (weighted) ++layer;
    if (cvnet.getLayerId(it->second) < 0) continue;  // folded into another layer by OpenCV's importer
    values.push_back(n->output());
    names.push_back(it->second);
    kinds.push_back(k);
    layer_index.push_back(weighted ? layer : 0);
  }
  if (values.empty()) return "";
  auto g = w.graph->copy();
  std::map<const Value*, Value*> same;  // the copy's values by the original's
  {
    auto a = w.graph->nodes().begin();
    auto b = g->nodes().begin();
    for (; a != w.graph->nodes().end() && b != g->nodes().end(); ++a, ++b)
      for (std::size_t i = 0; i < a->outputs().size(); ++i) same[a->outputs()[i]] = b->outputs()[i];
  }
  while (!g->outputs().empty()) g->eraseOutput(0);
  std::vector<Value*> outs;
  for (Value* v : values) outs.push_back(same.at(v));
  g->registerOutput(g->insertNode(g->createTuple(outs))->output());
  torch::jit::GraphFunction fn("whittle_divergence", g, nullptr);
  const std::int64_t n = std::min<std::int64_t>(64, data.test_x.size(0));
  const auto c = data.test_x.size(1);
  torch::Tensor x = data.test_x.slice(0, 0, n).to(torch::kFloat);
  if (normalize && !data.mean.empty())
    x = x * torch::tensor(data.std).view({1, c, 1, 1}) + torch::tensor(data.mean).view({1, c, 1, 1});
  x = x.contiguous();
  torch::jit::Stack stack{w.frozen._ivalue(), x};
  {
    torch::NoGradGuard no_grad;
    fn.run(stack);
  }
  const auto ours = stack.back().toTupleRef().elements();
  const int dims[] = {static_cast<int>(x.size(0)), static_cast<int>(x.size(1)), static_cast<int>(x.size(2)),
                      static_cast<int>(x.size(3))};
  cvnet.setInput(cv::Mat(4, dims, CV_32F, x.data_ptr()));
  std::vector<cv::Mat> theirs;
  try {
    cvnet.forward(theirs, names);
  } catch (const cv::Exception&) {
    return "";
  }
  for (std::size_t i = 0; i < values.size() && i < theirs.size(); ++i) {
    const torch::Tensor a = ours.at(i).toTensor().contiguous().to(torch::kFloat);
    if (static_cast<std::int64_t>(theirs[i].total()) != a.numel()) continue;
    const torch::Tensor b = torch::from_blob(theirs[i].ptr<float>(), a.sizes(), torch::kFloat);
    const double diff = (a - b).abs().max().item<double>();
    if (diff > tolerance)
      return fmt::format(
          "the outputs first part at the ONNX node `{}` ({}{}): they differ by up to {:.3g} there", names[i], kinds[i],
          layer_index[i] ? fmt::format(", the model's conv or linear layer {} in forward order", layer_index[i]) : "",
          diff);
  }
  return "";
}

ExportParity onnx_parity(const std::string& bytes, const Net& net, const Dataset& data, bool normalize) {
  cv::dnn::Net cv;
  try {
    cv = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
  } catch (const cv::Exception& e) {
    throw StageError(fmt::format("OpenCV cannot read the ONNX file whittle wrote: {}", e.what()),
                     "export as TorchScript instead");
  }
  cv.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  return measure_parity(net, data, normalize, [&](const torch::Tensor& raw) {
    torch::Tensor x = raw.contiguous();
    const int dims[] = {static_cast<int>(x.size(0)), static_cast<int>(x.size(1)), static_cast<int>(x.size(2)),
                        static_cast<int>(x.size(3))};
    cv::Mat blob(4, dims, CV_32F, x.data_ptr());
    cv.setInput(blob);
    cv::Mat y = cv.forward();
    return torch::from_blob(y.ptr<float>(), {x.size(0), static_cast<std::int64_t>(y.total()) / x.size(0)},
                            torch::kFloat)
        .clone();
  });
}

#else

[[noreturn]] void no_onnx() {
  throw StageError("this build of whittle has no ONNX export",
                   "install libonnx-dev and libopencv-dnn-dev (Debian) and rebuild; or export as TorchScript (`format: "
                   "torchscript`)");
}
std::string onnx_bytes(const Net&, const Dataset&, bool) { no_onnx(); }
ExportParity onnx_parity(const std::string&, const Net&, const Dataset&, bool) { no_onnx(); }
std::string onnx_divergence(const Net&, const Dataset&, bool, const std::string&, double) { no_onnx(); }

#endif

}  // namespace whittle::runtime::torchrt
