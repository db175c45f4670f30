// `export "m.ts.pt" format: torchscript` (export.h): the model traced by LibTorch's JIT into a
// self-contained TorchScript module, its parameters and buffers attributes of modules named as
// whittle names them, its forward taking float NCHW in [0, 1] and normalising as the data set does.
// Python loads it with torch.jit.load, C++ with torch::jit::load: no class definitions needed.
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/passes/fixup_trace_scope_blocks.h>
#include <torch/csrc/jit/passes/normalize_ops.h>
#include <torch/script.h>

#include <fmt/format.h>

#include <sstream>

#include "runtime/plan/stage.h"
#include "runtime/torch/export/export_trace.h"

namespace whittle::runtime::torchrt {
namespace {

/// The module at a dotted path ("layer1.0"), created on the way.
torch::jit::Module& submodule(std::map<std::string, torch::jit::Module>& made, torch::jit::Module& root,
                              const std::string& path) {
  if (path.empty()) return root;
  auto it = made.find(path);
  if (it != made.end()) return it->second;
  const auto dot = path.rfind('.');
  torch::jit::Module& parent = submodule(made, root, dot == std::string::npos ? "" : path.substr(0, dot));
  const std::string name = dot == std::string::npos ? path : path.substr(dot + 1);
  torch::jit::Module child("__torch__.whittle." +
                           (std::isdigit(static_cast<unsigned char>(name[0])) ? "m" + name : name) +
                           std::to_string(made.size()));
  parent.register_module(name, child);
  return made.emplace(path, child).first->second;
}

/// Registers every tensor of `net` (the very tensors its forward reads, so the trace refers to them).
void mirror(const NetImpl& net, torch::jit::Module& root) {
  std::map<std::string, torch::jit::Module> made;
  auto split = [](const std::string& key) {
    const auto dot = key.rfind('.');
    return dot == std::string::npos ? std::pair<std::string, std::string>{"", key}
                                    : std::pair<std::string, std::string>{key.substr(0, dot), key.substr(dot + 1)};
  };
  for (const auto& p : net.named_parameters()) {
    auto [path, name] = split(p.key());
    submodule(made, root, path).register_parameter(name, p.value(), false);
  }
  for (const auto& b : net.named_buffers()) {
    auto [path, name] = split(b.key());
    submodule(made, root, path).register_buffer(name, b.value());
  }
}

}  // namespace

torch::jit::Module traced_module(const Net& net, const Dataset& data, bool normalize) {
  if (!net.int8.empty())
    throw StageError("a model converted to int8 cannot be exported as TorchScript",
                     "export it before `convert`: its weights then go out as the values they compute with");
  NetImpl& model = *net.module;
  const bool was_training = model.is_training();
  model.eval();
  torch::jit::Module root("__torch__.whittle.Export");
  mirror(model, root);
  const auto c = data.train_x.size(1);
  const bool apply = normalize && !data.mean.empty();
  const torch::Tensor mean = apply ? torch::tensor(data.mean).view({1, c, 1, 1}) : torch::Tensor();
  const torch::Tensor std = apply ? torch::tensor(data.std).view({1, c, 1, 1}) : torch::Tensor();
  if (apply) {
    root.register_buffer("input_mean", mean);
    root.register_buffer("input_std", std);
  }
  const torch::Tensor example = torch::rand({1, c, data.train_x.size(2), data.train_x.size(3)});
  std::shared_ptr<torch::jit::Graph> graph;
  try {
    torch::NoGradGuard no_grad;
    auto traced = torch::jit::tracer::trace(
        {example},
        [&](torch::jit::Stack in) -> torch::jit::Stack {
          torch::Tensor x = in.at(0).toTensor();
          if (apply) x = (x - mean) / std;
          return {model.forward(x)};
        },
        [](const torch::autograd::Variable&) { return std::string(); }, /*strict=*/false, /*force_outplace=*/false,
        &root);
    graph = traced.first->graph;
  } catch (const c10::Error& e) {
    model.train(was_training);
    throw StageError(fmt::format("tracing the model for TorchScript failed: {}", e.what_without_backtrace()),
                     "export it as a state dict (`format: state_dict`) and rebuild it with scripts/whittle_export.py");
  }
  model.train(was_training);
  torch::jit::FixupTraceScopeBlocks(graph, &root);
  torch::jit::NormalizeOps(graph);
  auto fn =
      root._ivalue()->compilation_unit()->create_function(c10::QualifiedName(*root.type()->name(), "forward"), graph);
  root.type()->addMethod(fn);
  return root;
}

std::string torchscript_bytes(const Net& net, const Dataset& data, bool normalize) {
  std::ostringstream out;
  traced_module(net, data, normalize).save(out);
  return out.str();
}

ExportParity measure_parity(const Net& net, const Dataset& data, bool normalize,
                            const std::function<torch::Tensor(const torch::Tensor&)>& run) {
  NetImpl& model = *net.module;
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  const auto c = data.test_x.size(1);
  const bool undo = !data.mean.empty();
  const torch::Tensor mean = undo ? torch::tensor(data.mean).view({1, c, 1, 1}) : torch::zeros({1, c, 1, 1});
  const torch::Tensor std = undo ? torch::tensor(data.std).view({1, c, 1, 1}) : torch::ones({1, c, 1, 1});
  ExportParity p;
  std::int64_t equal = 0, correct = 0;
  const std::int64_t n = data.test_x.size(0);
  for (std::int64_t i = 0; i < n; i += 256) {
    const torch::Tensor x = data.test_x.slice(0, i, std::min(n, i + 256)).to(torch::kFloat);
    // The file takes what the data set's images are before whittle normalises them.
    const torch::Tensor raw = normalize ? x * std + mean : x;
    const torch::Tensor ours = model.forward(x).to(torch::kFloat);
    const torch::Tensor theirs = run(raw).to(torch::kFloat);
    p.max_logit_diff = std::max(p.max_logit_diff, (ours - theirs).abs().max().item<double>());
    const torch::Tensor pred = theirs.argmax(1);
    equal += pred.eq(ours.argmax(1)).sum().item<std::int64_t>();
    correct += pred.eq(data.test_y.slice(0, i, std::min(n, i + 256))).sum().item<std::int64_t>();
  }
  model.train(was_training);
  p.agreement = n ? static_cast<double>(equal) / static_cast<double>(n) : 1.0;
  p.accuracy = n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
  return p;
}

ExportParity torchscript_parity(const std::string& bytes, const Net& net, const Dataset& data, bool normalize) {
  std::istringstream in(bytes);
  torch::jit::Module loaded;
  try {
    loaded = torch::jit::load(in);
  } catch (const c10::Error& e) {
    throw StageError(
        fmt::format("the TorchScript file whittle wrote does not load back: {}", e.what_without_backtrace()),
        "this is a whittle bug: report it with the recipe");
  }
  loaded.eval();
  return measure_parity(net, data, normalize,
                        [&](const torch::Tensor& raw) { return loaded.forward({raw}).toTensor(); });
}

}  // namespace whittle::runtime::torchrt
