// `model torchscript path: "net.pt"` (docs/interop.md): the file found and recognised at check time,
// and the stages a module scripted in PyTorch cannot take refused at their line.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "lang/checker.h"
#include "lang/files.h"

namespace whittle::lang {

namespace fs = std::filesystem;

namespace {

/// What the file is, from its last 64 KiB (a zip archive's central directory is at its end):
/// "" for a TorchScript archive, else why not.
std::string not_torchscript(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return "it cannot be read";
  char magic[4] = {};
  in.read(magic, 4);
  if (in.gcount() < 4 || std::string(magic, 4) != std::string("PK\x03\x04", 4))
    return "it is not a zip archive, as TorchScript writes (a pickle from an old `torch.save`?)";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff tail = std::min<std::streamoff>(size, 64 * 1024);
  std::string buf(static_cast<std::size_t>(tail), '\0');
  in.seekg(size - tail);
  in.read(buf.data(), tail);
  if (buf.find(std::string("PK\x05\x06", 4)) == std::string::npos)
    return "it is cut short or damaged (a zip archive without the directory a whole one ends with)";
  if (buf.find("constants.pkl") == std::string::npos || buf.find("/code/") == std::string::npos)
    return "it is an archive of `torch.save` (weights or a pickled model), not a scripted module";
  return "";
}

}  // namespace

void Checker::script_model(StageInstance& inst) {
  const Val* arch = inst.value("arch");
  const CheckedParam* path = inst.param("path");
  if (!arch || !path) return;
  const bool scripted = arch->str == "torchscript";
  if (!scripted) {
    if (path->origin == Origin::Given)
      diags_.add(
          Diagnostic::make(
              "E0208", path->value.span,
              fmt::format("`path:` is where a scripted module is read from, and `{}` is built by whittle", arch->str),
              "not with a built-in architecture")
              .with_help("write `model torchscript path: \"...\"` for a module scripted in PyTorch, or drop `path:`"));
    return;
  }
  const Span at = path->origin == Origin::Given ? path->value.span : inst.name_span;
  if (path->value.str.empty()) {
    diags_.add(
        Diagnostic::make("E0205", at, "`model torchscript` needs the file of the scripted module", "`path` missing")
            .with_help("add `path: \"my_net.pt\"`, written in Python by `torch.jit.script(net).save(\"my_net.pt\")`"));
    return;
  }
  fs::path p(path->value.str);
  if (p.is_relative()) {
    const fs::path recipe(sources_.file(inst.span.file).name());
    std::error_code ec;
    p = fs::absolute(recipe.parent_path() / p, ec).lexically_normal();
  }
  // A submission's recipe names only its own files: anything else is refused before it is looked at,
  // with one message whatever lies there (no oracle of the grader's files).
  if (!opts_.confine_to.empty() && !path_inside(p.string(), opts_.confine_to)) {
    diags_.add(
        Diagnostic::make("E0106", at,
                         fmt::format("`path: \"{}\"` names a file outside the submission: refused", path->value.str),
                         "outside the submission")
            .with_help("a submission's recipe may read only the files packed with it"));
    return;
  }
  std::error_code ec;
  // Named from the current folder (where the user ran whittle) when it can be.
  const fs::path rel = p.lexically_relative(fs::current_path(ec));
  const std::string shown = rel.empty() ? p.string() : rel.string();
  if (!fs::is_regular_file(p, ec)) {
    diags_.add(Diagnostic::make("E0112", at, fmt::format("there is no scripted module at `{}`", shown), "no such file")
                   .with_help("a relative path is read from the recipe's folder; write the file in Python with "
                              "`torch.jit.script(net).save(path)` (scripts/make_scripted_model.py is an example)"));
    return;
  }
  const std::string why = not_torchscript(p);
  if (!why.empty()) {
    diags_.add(Diagnostic::make("E0112", at, fmt::format("`{}` is not a scripted PyTorch module: {}", shown, why),
                                "not TorchScript")
                   .with_help("save the model itself, scripted: `torch.jit.script(net).save(path)` (or "
                              "`torch.jit.trace(net, example).save(path)`)"));
    return;
  }
  inst.file = p.string();
}

const StageInstance* Checker::scripted_root(const StageInstance& s) {
  // The chain's model: found through the stage it reads, whose own root is remembered.
  auto root_of = [&](int id) {
    std::vector<int> path;
    int root = -1;
    while (id >= 0) {
      if (static_cast<std::size_t>(id) < chain_root_.size() && chain_root_[static_cast<std::size_t>(id)] != -2) {
        root = chain_root_[static_cast<std::size_t>(id)];
        break;
      }
      const StageInstance& m = out_.stages[static_cast<std::size_t>(id)];
      if (m.is(StageDef::Role::Start)) {
        root = id;
        break;
      }
      path.push_back(id);
      id = m.model_in;
    }
    for (int p : path) {
      if (chain_root_.size() <= static_cast<std::size_t>(p)) chain_root_.resize(static_cast<std::size_t>(p) + 1, -2);
      chain_root_[static_cast<std::size_t>(p)] = root;
    }
    return root;
  };
  const int root = root_of(s.model_in);
  if (root < 0) return nullptr;
  const StageInstance& m = out_.stages[static_cast<std::size_t>(root)];
  const Val* arch = m.value("arch");
  return arch && arch->str == "torchscript" ? &m : nullptr;
}

void Checker::export_refusals(const StageInstance& s) {
  // Each stage's last `convert`, from the stage it reads (always an earlier one): no chain walked twice.
  if (converted_.size() <= static_cast<std::size_t>(s.id)) converted_.resize(static_cast<std::size_t>(s.id) + 1, -1);
  const int before = s.model_in >= 0 && static_cast<std::size_t>(s.model_in) < converted_.size()
                         ? converted_[static_cast<std::size_t>(s.model_in)]
                         : -1;
  const int convert = s.kind == "convert" ? s.id : before;
  converted_[static_cast<std::size_t>(s.id)] = convert;
  if (s.kind != "export" || convert < 0) return;
  const Val* format = s.value("format");
  const Val* path = s.value("path");
  const std::string f = format ? format->str : "auto";
  const bool onnx = f == "onnx" || (f == "auto" && path && path->str.size() >= 5 &&
                                    path->str.compare(path->str.size() - 5, 5, ".onnx") == 0);
  if (!onnx && f != "torchscript") return;
  const CheckedParam* at = s.param(onnx && f == "auto" ? "path" : "format");
  diags_.add(
      Diagnostic::make(
          "E0308", at && at->origin == Origin::Given ? at->value.span : s.name_span,
          fmt::format("a model `convert`ed to int8 kernels cannot be exported as {}", onnx ? "ONNX" : "TorchScript"),
          "after `convert`")
          .with_label(out_.stages[static_cast<std::size_t>(convert)].name_span, "converted here")
          .with_help("export before `convert` (its weights then go out as the values they compute with), or export a "
                     "state dict (`.pt`) or safetensors file of the converted model"));
}

void Checker::script_refusals(const StageInstance& s) {
  const StageInstance* root = scripted_root(s);
  if (!root) return;
  auto refuse = [&](Span at, const std::string& what, const std::string& label, const std::string& help) {
    diags_.add(
        Diagnostic::make("E0307", at, fmt::format("{}: the model of this chain is scripted in PyTorch", what), label)
            .with_help(help)
            .with_note(fmt::format("the chain starts at `model torchscript` on line {}",
                                   sources_.file(root->span.file).line_of(root->span.begin))));
  };
  auto given = [&](const std::string& name) -> const CheckedParam* {
    const CheckedParam* p = s.param(name);
    return p && p->origin == Origin::Given ? p : nullptr;
  };
  if (s.kind == "convert") {
    refuse(s.name_span, "`convert` swaps whittle's own layers for int8 kernels", "not on a scripted model",
           "export the fake-quantized model instead (`export \"m.onnx\"`), or write the network in the recipe with "
           "`network`");
  } else if (s.kind == "quantize") {
    const Val* a = s.value("activations");
    if (a && a->num < 32)
      refuse(given("activations") ? given("activations")->value.span : s.name_span,
             "activation quantization needs whittle's own layers", "activations not quantizable here",
             "quantize the weights only (leave out `activations:`), or write the network in the recipe");
  } else if (s.kind == "prune") {
    if (const CheckedParam* p = given("physical"); p && p->value.num != 0)
      refuse(p->value.span,
             "`physical: true` rebuilds the layers thinner, and whittle cannot rebuild a scripted module",
             "no physical slimming", "drop `physical: true`: the structured pruning then masks the filters");
    if (const CheckedParam* p = given("criterion"); p && p->value.str == "thinet")
      refuse(p->value.span, "`thinet` samples every layer's input through whittle's own layers",
             "not on a scripted model", "rank the filters by `l1`, `l2` or `bn_gamma`");
  } else if (s.kind == "score") {
    if (const CheckedParam* p = given("convention"); p && p->value.str == "profiler")
      refuse(p->value.span,
             "`convention: profiler` counts the course profiler's modules, which a scripted module does not expose",
             "not on a scripted model",
             "leave out `convention:` (whittle's convention counts every conv, linear and BatchNorm)");
  }
}

}  // namespace whittle::lang
