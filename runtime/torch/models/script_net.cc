// A module scripted in PyTorch as a whittle net (script_net.h).
#include "runtime/torch/models/script_net.h"

#include <ATen/record_function.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/script.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>
#include <unordered_map>

#include "runtime/plan/stage.h"
#include "runtime/torch/models/layers.h"

namespace whittle::runtime::torchrt {
namespace {
namespace nn = torch::nn;
using torch::jit::Node;
using torch::jit::Value;

/// The module's class as PyTorch names it, without TorchScript's "___torch_mangle_N." parts.
std::string class_of(const torch::jit::Module& m) {
  std::string q = m.type()->name()->qualifiedName();
  for (std::size_t at; (at = q.find("___torch_mangle_")) != std::string::npos;) q.erase(at, q.find('.', at) - at + 1);
  return q;
}

std::vector<std::int64_t> ints(const c10::IValue& v) {
  std::vector<std::int64_t> out;
  if (v.isIntList()) return v.toIntVector();
  if (v.isTuple())
    for (const auto& e : v.toTupleRef().elements()) out.push_back(e.toInt());
  if (v.isInt()) out = {v.toInt(), v.toInt()};
  return out;
}

bool tensor_attr(const torch::jit::Module& m, const char* name) { return m.hasattr(name) && m.attr(name).isTensor(); }

/// The whittle module that stands for a scripted one: a conv, linear or BatchNorm of whittle's own
/// where PyTorch's stock class is used, else a plain module that only holds tensors.
std::shared_ptr<nn::Module> stand_in(const torch::jit::Module& m) {
  const std::string c = class_of(m);
  if (c == "__torch__.torch.nn.modules.conv.Conv2d" && tensor_attr(m, "weight") &&
      m.attr("weight").toTensor().dim() == 4) {
    const torch::Tensor w = m.attr("weight").toTensor();
    const std::int64_t groups = m.attr("groups").toInt();
    auto o = nn::Conv2dOptions(w.size(1) * groups, w.size(0), {w.size(2), w.size(3)})
                 .groups(groups)
                 .bias(tensor_attr(m, "bias"));
    const auto stride = ints(m.attr("stride")), padding = ints(m.attr("padding")), dilation = ints(m.attr("dilation"));
    if (stride.size() == 2) o.stride({stride[0], stride[1]});
    if (padding.size() == 2)
      o.padding(torch::ExpandingArray<2>({padding[0], padding[1]}));  // else `same`/`valid`: the script pads
    if (dilation.size() == 2) o.dilation({dilation[0], dilation[1]});
    return std::make_shared<ConvImpl>(o);
  }
  if (c == "__torch__.torch.nn.modules.linear.Linear" && tensor_attr(m, "weight") &&
      m.attr("weight").toTensor().dim() == 2) {
    const torch::Tensor w = m.attr("weight").toTensor();
    return std::make_shared<LinearImpl>(nn::LinearOptions(w.size(1), w.size(0)).bias(tensor_attr(m, "bias")));
  }
  if (c == "__torch__.torch.nn.modules.batchnorm.BatchNorm2d" && tensor_attr(m, "weight") && tensor_attr(m, "bias") &&
      tensor_attr(m, "running_mean") && tensor_attr(m, "num_batches_tracked"))
    return std::make_shared<BNImpl>(m.attr("weight").toTensor().size(0));
  return std::make_shared<nn::Module>();
}

/// While a scripted net is profiled: the counted layers by the address of their weight, and how
/// deep inside a counted op the callbacks are (a linear's own addmm is not counted again).
thread_local std::unordered_map<const void*, CountedLayer*>* g_counted = nullptr;
thread_local int g_depth = 0;

struct Seen : at::ObserverContext {
  CountedLayer* layer = nullptr;
  std::int64_t macs_per_output = 0;
};

std::unique_ptr<at::ObserverContext> op_started(const at::RecordFunction& fn) {
  if (!g_counted || g_depth > 0) return nullptr;
  const std::string_view name = fn.name();
  const bool conv = name == "aten::convolution", linear = name == "aten::linear", bn = name == "aten::batch_norm";
  if (!conv && !linear && !bn) return nullptr;
  const auto in = fn.inputs();
  if (in.size() < 2 || !in[0].isTensor() || !in[1].isTensor()) return nullptr;
  const torch::Tensor x = in[0].toTensor(), w = in[1].toTensor();
  auto it = g_counted->find(w.data_ptr());
  if (it == g_counted->end()) return nullptr;
  auto seen = std::make_unique<Seen>();
  seen->layer = it->second;
  // Per output element, as the built-in layers count: k_h·k_w·C_in/groups for a conv, C_in for a linear.
  seen->macs_per_output = conv ? w.size(1) * w.size(2) * w.size(3) : linear ? w.size(1) : 0;
  seen->layer->in_elems = x[0].numel();
  ++g_depth;
  return seen;
}

void op_ended(const at::RecordFunction& fn, at::ObserverContext* ctx) {
  auto* seen = static_cast<Seen*>(ctx);
  if (!seen) return;
  --g_depth;
  if (fn.outputs().empty() || !fn.outputs()[0].isTensor()) return;
  const std::int64_t out = fn.outputs()[0].toTensor()[0].numel();
  seen->layer->out_elems = out;
  seen->layer->macs += out * seen->macs_per_output;
}

/// Counts LibTorch's operations into `counted` for the length of a scope (one forward pass).
struct CountingScope {
  explicit CountingScope(std::unordered_map<const void*, CountedLayer*>& counted) {
    g_counted = &counted;
    g_depth = 0;
    handle = at::addThreadLocalCallback(
        at::RecordFunctionCallback(&op_started, &op_ended).needsInputs(true).needsOutputs(true));
  }
  ~CountingScope() {
    at::removeCallback(handle);
    g_counted = nullptr;
  }
  CountingScope(const CountingScope&) = delete;
  CountingScope& operator=(const CountingScope&) = delete;
  at::CallbackHandle handle;
};

struct ScriptNetImpl : NetImpl {
  torch::jit::Module script;
  /// The conv and linear layers, with the scripted module that reads their weight.
  struct Weighted {
    torch::jit::Module owner;
    WeightLayer* layer;
    torch::Tensor weight;
  };
  std::vector<Weighted> weighted;

  torch::Tensor forward(torch::Tensor x) override {
    // A quantized layer computes with its quantizer's weight: handed to the scripted layer for this
    // pass (the gradient reaches the stored weight through it), the stored one put back after.
    std::vector<Weighted*> swapped;
    struct Restore {
      std::vector<Weighted*>& s;
      ~Restore() {
        for (auto* w : s) w->owner.setattr("weight", w->weight);
      }
    } restore{swapped};
    if (!Profiling::on())  // profiling finds the layers by their stored weights; costs do not depend on quantization
      for (auto& w : weighted)
        if (w.layer->quant) {
          w.owner.setattr("weight", w.layer->quant->weight(w.weight));
          swapped.push_back(&w);
        }
    if (!Profiling::on()) return run(x);
    std::unordered_map<const void*, CountedLayer*> counted;
    for (const auto& m : named_modules("", false))
      if (auto* c = dynamic_cast<CountedLayer*>(m.value().get())) {
        c->macs = c->in_elems = c->out_elems = 0;
        if (auto p = m.value()->named_parameters(false).find("weight")) counted[p->data_ptr()] = c;
      }
    CountingScope counting(counted);
    return run(x);
  }

  torch::Tensor run(const torch::Tensor& x) {
    const c10::IValue y = script.forward({x});
    if (!y.isTensor())
      throw StageError(
          fmt::format("the scripted model returns {}, where whittle needs a tensor of logits", y.type()->str()),
          "make its forward return the [N, classes] logits alone");
    return y.toTensor();
  }

  void train(bool on = true) override {
    NetImpl::train(on);
    script.train(on);
  }

  /// Gives `into` the tensors of `m` and stand-ins for its children, recursively. A tensor the
  /// stand-in already has (a conv's weight) takes the scripted value and becomes what the script
  /// reads; any other is registered as it is: either way one tensor, read by both.
  void mirror(nn::Module& into, torch::jit::Module m) {
    torch::NoGradGuard no_grad;
    auto adopt = [&](const std::string& name, const torch::Tensor& t, bool parameter) {
      auto own = parameter ? into.named_parameters(false).find(name) : into.named_buffers(false).find(name);
      if (own && own->sizes() == t.sizes()) {
        own->copy_(t);
        if (parameter) own->set_requires_grad(t.requires_grad());
        m.setattr(name, *own);
      } else if (parameter) {
        into.register_parameter(name, t, t.requires_grad());
      } else {
        into.register_buffer(name, t);
      }
    };
    for (const auto& p : m.named_parameters(false))
      if (p.value.defined()) adopt(p.name, p.value, true);
    for (const auto& b : m.named_buffers(false))
      if (b.value.defined()) adopt(b.name, b.value, false);
    for (const auto& c : m.named_children()) {
      auto part = stand_in(c.value);
      into.register_module(c.name, part);
      mirror(*part, c.value);
      if (auto* l = dynamic_cast<WeightLayer*>(part.get()))
        weighted.push_back({c.value, l, part->named_parameters(false)["weight"]});
    }
  }
};

// Channel groups from the traced graph (models.h): a conv's or linear's output that reaches other
// convs or linears only through BatchNorm, activations, pooling, dropout, depthwise convs and a
// flatten, and goes nowhere else (no addition, concatenation, or output).

/// "layer1.0.conv1.weight" for a chain of GetAttr from the traced module; "" for anything else.
std::string attr_path(Value* v, const Value* self) {
  std::vector<std::string> parts;
  while (v->node()->kind() == c10::prim::GetAttr) {
    parts.push_back(v->node()->s(c10::attr::name));
    v = v->node()->input(0);
  }
  if (v != self || parts.empty()) return "";
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) out += (out.empty() ? "" : ".") + *it;
  return out;
}

std::string layer_of(Value* weight, const Value* self) {
  const std::string p = attr_path(weight, self);
  return p.size() > 7 && p.compare(p.size() - 7, 7, ".weight") == 0 ? p.substr(0, p.size() - 7) : "";
}

std::vector<std::int64_t> sizes_of(const Value* v) {
  auto t = v->type()->cast<c10::TensorType>();
  auto s = t ? t->sizes().concrete_sizes() : c10::nullopt;
  return s ? *s : std::vector<std::int64_t>{};
}

std::int64_t conv_groups(const Node* n) {
  auto g = torch::jit::toIValue(n->input(8));
  return g && g->isInt() ? g->toInt() : 0;
}

bool passes_channels(c10::Symbol k) {
  static const std::set<std::string> ops = {"aten::relu",
                                            "aten::relu_",
                                            "aten::relu6",
                                            "aten::hardtanh",
                                            "aten::hardtanh_",
                                            "aten::leaky_relu",
                                            "aten::silu",
                                            "aten::gelu",
                                            "aten::sigmoid",
                                            "aten::hardswish",
                                            "aten::elu",
                                            "aten::dropout",
                                            "aten::dropout_",
                                            "aten::feature_dropout",
                                            "aten::max_pool2d",
                                            "aten::avg_pool2d",
                                            "aten::adaptive_avg_pool2d",
                                            "aten::contiguous"};
  return ops.count(k.toQualString()) > 0;
}

std::optional<ChannelGroup> group_from(Node* producer, const std::string& name, const Value* self,
                                       const std::set<std::string>& layers) {
  ChannelGroup g;
  g.producer = name;
  g.spatial = 0;
  std::vector<std::pair<Value*, std::int64_t>> todo{
      {producer->output(), 1}};  // a value, and positions per channel once flattened
  std::set<Value*> seen;
  while (!todo.empty()) {
    auto [v, spatial] = todo.back();
    todo.pop_back();
    if (!seen.insert(v).second) continue;
    for (const torch::jit::Use& u : v->uses()) {
      Node* n = u.user;
      const c10::Symbol k = n->kind();
      if (u.offset != 0) return std::nullopt;  // read as anything but the data input
      if (k == c10::aten::batch_norm) {
        const std::string bn = layer_of(n->input(1), self);
        if (bn.empty()) return std::nullopt;
        g.norms.push_back(bn);
        todo.emplace_back(n->output(), spatial);
      } else if (passes_channels(k)) {
        todo.emplace_back(n->output(0), spatial);
      } else if (k == c10::aten::flatten || k == c10::aten::view || k == c10::aten::reshape) {
        const auto in = sizes_of(v), out = sizes_of(n->output());
        if (spatial != 1 || in.size() != 4 || out.size() != 2 || out[1] != in[1] * in[2] * in[3]) return std::nullopt;
        todo.emplace_back(n->output(), in[2] * in[3]);
      } else if (k == c10::aten::_convolution || k == c10::aten::linear) {
        const std::string l = layer_of(n->input(1), self);
        if (l.empty() || !layers.count(l)) return std::nullopt;
        const auto w = sizes_of(n->input(1));
        const bool depthwise =
            k == c10::aten::_convolution && w.size() == 4 && w[1] == 1 && conv_groups(n) == w[0] && w[0] > 1;
        if (depthwise) {
          g.through.push_back(l);
          todo.emplace_back(n->output(), spatial);
          continue;
        }
        if (k == c10::aten::_convolution && (conv_groups(n) != 1 || spatial != 1)) return std::nullopt;
        if (g.spatial != 0 && g.spatial != spatial) return std::nullopt;
        g.spatial = spatial;
        g.consumers.push_back(l);
      } else {
        return std::nullopt;  // an addition, a concatenation, the output...
      }
    }
  }
  if (g.consumers.empty()) return std::nullopt;
  return g;
}

std::vector<ChannelGroup> graph_groups(ScriptNetImpl& net, const Shape& shape) {
  std::set<std::string> layers;
  for (const auto& m : net.named_modules("", false))
    if (dynamic_cast<WeightLayer*>(m.value().get())) layers.insert(m.key());
  std::shared_ptr<torch::jit::Graph> graph;
  try {
    torch::NoGradGuard no_grad;
    net.eval();
    auto traced = torch::jit::tracer::trace(
        {torch::zeros({1, shape.channels, shape.height, shape.width})},
        [&](torch::jit::Stack in) -> torch::jit::Stack { return {net.script.forward({in.at(0)})}; },
        [](const torch::autograd::Variable&) { return std::string(); }, /*strict=*/false, /*force_outplace=*/false,
        &net.script);
    graph = traced.first->graph;
  } catch (const std::exception&) {
    net.train();
    return {};  // a forward the tracer cannot follow: no groups, structured pruning says so
  }
  net.train();
  std::vector<ChannelGroup> groups;
  std::map<std::string, int> producers;  // a weight read by two ops is in no group
  for (Node* n : graph->nodes())
    if (n->kind() == c10::aten::_convolution || n->kind() == c10::aten::linear)
      ++producers[layer_of(n->input(1), graph->inputs()[0])];
  for (Node* n : graph->nodes()) {
    if (n->kind() != c10::aten::_convolution && n->kind() != c10::aten::linear) continue;
    if (n->kind() == c10::aten::_convolution && conv_groups(n) != 1) continue;
    const std::string name = layer_of(n->input(1), graph->inputs()[0]);
    if (name.empty() || !layers.count(name) || producers[name] != 1) continue;
    if (auto g = group_from(n, name, graph->inputs()[0], layers)) groups.push_back(std::move(*g));
  }
  return groups;
}

}  // namespace

std::shared_ptr<NetImpl> load_script_net(const std::string& path, const Shape& shape) {
  auto net = std::make_shared<ScriptNetImpl>();
  try {
    net->script = torch::jit::load(path);
  } catch (const std::exception& e) {
    throw StageError(fmt::format("LibTorch cannot load the scripted module `{}`: {}", path, e.what()),
                     "write it again with `torch.jit.script(net).save(path)` from a PyTorch of version 1.13 or older");
  }
  net->mirror(*net, net->script);
  if (net->weighted.empty())
    throw StageError(
        fmt::format("the scripted module `{}` has no nn.Conv2d or nn.Linear layer whittle can train, prune or quantize",
                    path),
        "whittle works on the stock torch.nn.Conv2d and torch.nn.Linear modules of the network");
  torch::Tensor y;
  try {
    torch::NoGradGuard no_grad;
    net->eval();
    y = net->forward(torch::zeros({1, shape.channels, shape.height, shape.width}));
    net->train();
  } catch (const StageError&) {
    throw;
  } catch (const std::exception& e) {
    throw StageError(fmt::format("the scripted module cannot take {}x{}x{} images: {}", shape.channels, shape.height,
                                 shape.width, e.what()),
                     "its forward gets a float [N, C, H, W] batch of the data set, normalised as `data` says");
  }
  if (y.dim() != 2 || y.size(0) != 1 || (shape.classes > 0 && y.size(1) != shape.classes))
    throw StageError(
        fmt::format(
            "the scripted module returns a tensor of shape {} for one image, where whittle needs [1, {}] logits",
            fmt::join(y.sizes().vec(), "x"), shape.classes),
        "its forward must return one row of class scores per image");
  net->channel_groups = graph_groups(*net, shape);
  return net;
}

}  // namespace whittle::runtime::torchrt
