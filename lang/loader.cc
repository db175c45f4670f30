// `use` resolution and `define` collection.
#include "lang/loader.h"

#include <optional>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "lang/files.h"
#include "lang/parser.h"
#include "lang/suggest.h"
#include "stdlib/embedded.h"

namespace whittle::lang {
namespace fs = std::filesystem;

namespace {

constexpr const char* kStdPrefix = "<stdlib>/";

class Loader {
 public:
  Loader(SourceMap& s, const Catalog& c, Diagnostics& d, std::string confine,
         const std::map<std::string, std::string>* overlay)
      : sources_(s), catalog_(c), diags_(d), confine_(std::move(confine)), overlay_(overlay) {}

  void load(FileId file, const std::string& identity) {
    stack_.push_back(identity);
    loaded_.insert(identity);
    auto m = std::make_unique<Module>();
    m->file = file;
    const std::size_t errors_before = diags_.count(Severity::Error);
    m->recipe = parse(sources_, file, diags_);
    if (diags_.count(Severity::Error) > errors_before) prog_.syntax_errors = true;
    Module* mod = m.get();
    prog_.modules.push_back(std::move(m));
    for (const ast::Stmt& s : mod->recipe.stmts) {
      if (s.kind == ast::Stmt::Kind::Use) use(s, file);
      if (s.kind == ast::Stmt::Kind::Define || s.kind == ast::Stmt::Kind::Network) define(s);
    }
    stack_.pop_back();
  }

  LoadedProgram take() { return std::move(prog_); }

 private:
  void use(const ast::Stmt& s, FileId from) {
    const std::string& path = s.value.text;
    const std::string& from_name = sources_.file(from).name();
    std::string identity, text;
    if (path.rfind("std/", 0) == 0) {
      std::string want = path;
      if (want.size() < 7 || want.substr(want.size() - 7) != ".recipe") want += ".recipe";
      bool found = false;
      for (const auto& f : stdlib::embedded_files()) {
        if (f.name == want) {
          found = true;
          text = std::string(f.text);
        }
      }
      if (!found) {
        auto d = Diagnostic::make("E0106", s.value.span, fmt::format("there is no `{}` in the standard library", path),
                                  "not in the standard library");
        std::string list;
        for (const auto& n : stdlib_recipes()) list += (list.empty() ? "`" : ", `") + n + "`";
        if (auto h = did_you_mean(want, stdlib_recipes()))
          d.with_help(*h);
        else
          d.with_help("the standard library has " + list);
        diags_.add(std::move(d));
        return;
      }
      identity = kStdPrefix + want;
    } else {
      fs::path base = from_name.rfind(kStdPrefix, 0) == 0 ? fs::path() : fs::path(from_name).parent_path();
      fs::path target = fs::path(path).is_absolute() ? fs::path(path) : base / path;
      std::error_code ec;
      if (!confine_.empty()) {
        const fs::path real = fs::weakly_canonical(target, ec), root = fs::weakly_canonical(confine_, ec);
        const fs::path rel = real.lexically_relative(root);
        if (ec || rel.empty() || *rel.begin() == ".." || rel.is_absolute()) {
          diags_.add(Diagnostic::make("E0106", s.value.span,
                                      fmt::format("`use \"{}\"` names a file outside the submission: refused", path),
                                      "outside the submission")
                         .with_help("a submission's recipe may use only the files packed with it"));
          return;
        }
      }
      std::string error;
      std::optional<std::string> read;
      if (overlay_) {
        auto it = overlay_->find(fs::absolute(target, ec).lexically_normal().string());
        if (it != overlay_->end()) read = it->second;
      }
      if (!read) read = read_regular_file(target.string(), kMaxFileBytes, error);
      if (!read) {
        diags_.add(
            Diagnostic::make("E0106", s.value.span, error, "not read")
                .with_help(
                    "a `use` path is relative to the file that contains it and names a regular recipe file; `std/...` "
                    "names the standard library"));
        return;
      }
      text = std::move(*read);
      identity = fs::weakly_canonical(target, ec).string();
      if (ec) identity = target.lexically_normal().string();
    }
    for (std::size_t i = 0; i < stack_.size(); ++i) {
      if (stack_[i] == identity) {
        std::string cycle;
        for (std::size_t j = i; j < stack_.size(); ++j) cycle += display(stack_[j]) + " → ";
        cycle += display(identity);
        diags_.add(Diagnostic::make("E0107", s.span, "`use` cycle: " + cycle, "this `use` closes the cycle")
                       .with_help("files may not use each other in a circle: move the shared `define`s into a "
                                  "third file that both use"));
        return;
      }
    }
    if (loaded_.count(identity)) return;
    if (stack_.size() >= kMaxNesting) {
      diags_.add(Diagnostic::make("E0111", s.span, fmt::format("`use`s nested more than {} files deep", kMaxNesting),
                                  "too deep")
                     .with_help("`use` the files you need from the recipe itself instead of through a chain"));
      return;
    }
    std::string name = identity.rfind(kStdPrefix, 0) == 0 ? identity : relative_name(identity, from_name, path);
    load(sources_.add(name, std::move(text)), identity);
  }

  static std::string display(const std::string& identity) { return fs::path(identity).filename().string(); }

  /// The name diagnostics use for a used file: as the user would write it from the working directory.
  static std::string relative_name(const std::string& identity, const std::string& from_name, const std::string& path) {
    fs::path p = fs::path(path).is_absolute() ? fs::path(path) : fs::path(from_name).parent_path() / path;
    return p.lexically_normal().string();
  }

  /// Why a network may not take this name, or "".
  std::string network_name_taken(const ast::Stmt& s) const {
    if (catalog_.stage(s.name)) return "a built-in stage";
    if (catalog_.layer(s.name)) return "a layer";
    if (const StageDef* model = catalog_.stage("model"))
      if (const ParamDef* arch = model->param("arch"))
        for (const auto& w : arch->type.values)
          if (w == s.name) return "a built-in architecture";
    if (prog_.defines.count(s.name)) return "a `define`d stage";
    if (prog_.networks.count(s.name)) return "another network";
    return "";
  }

  void define(const ast::Stmt& s) {
    const bool network = s.kind == ast::Stmt::Kind::Network;
    if (network) {
      const std::string taken = network_name_taken(s);
      if (!taken.empty()) {
        const auto* other = prog_.networks.count(s.name)  ? &prog_.networks.at(s.name)
                            : prog_.defines.count(s.name) ? &prog_.defines.at(s.name)
                                                          : nullptr;
        auto d = Diagnostic::make("E0408", s.name_span,
                                  fmt::format("the network `{}` takes the name of {}", s.name, taken), "name taken");
        if (other) d.with_label(other->stmt->name_span, "declared here");
        d.with_help(taken == "a built-in architecture"
                        ? fmt::format("`model {}` is the built-in one; call yours e.g. `my_{}`", s.name, s.name)
                        : "give the network another name");
        diags_.add(std::move(d));
        return;
      }
    } else if (prog_.networks.count(s.name)) {
      diags_.add(Diagnostic::make("E0408", s.name_span, fmt::format("`{}` is already a network", s.name), "name taken")
                     .with_label(prog_.networks.at(s.name).stmt->name_span, "the network is declared here")
                     .with_help("give the stage another name"));
      return;
    }
    if (!network && catalog_.layer(s.name)) {
      diags_.add(
          Diagnostic::make("E0105", s.name_span, fmt::format("`{}` is a built-in layer", s.name), "already a layer")
              .with_help("give your block another name"));
      return;
    }
    if (!network && catalog_.stage(s.name)) {
      diags_.add(Diagnostic::make("E0105", s.name_span, fmt::format("`{}` is a built-in stage", s.name),
                                  "already a built-in stage")
                     .with_help("give your stage another name"));
      return;
    }
    auto it = prog_.defines.find(s.name);
    if (!network && it != prog_.defines.end()) {
      diags_.add(Diagnostic::make("E0105", s.name_span, fmt::format("the stage `{}` is defined twice", s.name),
                                  "defined again here")
                     .with_label(it->second.stmt->name_span, "first defined here")
                     .with_help("rename one of them"));
      return;
    }
    DefineInfo info;
    info.stmt = &s;
    for (const ast::Param& p : s.params) {
      for (const ParamDef& prev : info.params) {
        if (prev.name == p.name) {
          diags_.add(Diagnostic::make("E0105", p.name_span, fmt::format("parameter `{}` is declared twice", p.name),
                                      "declared again here"));
        }
      }
      ParamDef d;
      d.name = p.name;
      d.positional = true;
      d.line = static_cast<int>(sources_.file(s.span.file).line_of(p.name_span.begin));
      d.type = type_of(p.type);
      d.has_default = p.has_default;
      d.required = !p.has_default;
      d.doc = "parameter of " + s.name;
      info.params.push_back(d);
      info.defaults.push_back(p.has_default ? &p.default_value : nullptr);
    }
    (network ? prog_.networks : prog_.defines).emplace(s.name, std::move(info));
  }

  Type type_of(const ast::TypeSpec& t) {
    Type ty;
    if (t.words.size() > 1) {
      ty.kind = TypeKind::Enum;
      ty.values = t.words;
      return ty;
    }
    static const std::vector<std::pair<std::string, TypeKind>> names = {
        {"epochs", TypeKind::Epochs},     {"percent", TypeKind::Percent}, {"bits", TypeKind::Bits},
        {"channels", TypeKind::Channels}, {"outputs", TypeKind::Outputs}, {"int", TypeKind::Int},
        {"float", TypeKind::Float},       {"bool", TypeKind::Bool},       {"string", TypeKind::String},
        {"model", TypeKind::Model}};
    const std::string w = t.words.empty() ? "" : t.words[0];
    for (const auto& [n, k] : names)
      if (n == w) {
        ty.kind = k;
        return ty;
      }
    std::vector<std::string> all;
    for (const auto& [n, k] : names) all.push_back(n);
    auto d = Diagnostic::make("E0110", t.span, fmt::format("unknown type `{}`", w), "not a type");
    if (auto h = did_you_mean(w, all))
      d.with_help(*h);
    else
      d.with_help("types: epochs, percent, bits, int, float, bool, string, model, or an enum `l1|l2`");
    diags_.add(std::move(d));
    ty.kind = TypeKind::Enum;  // keeps checking going without cascading errors
    ty.values = {w};
    return ty;
  }

  SourceMap& sources_;
  const Catalog& catalog_;
  Diagnostics& diags_;
  LoadedProgram prog_;
  std::string confine_;
  const std::map<std::string, std::string>* overlay_;
  std::vector<std::string> stack_;
  std::set<std::string> loaded_;
};

}  // namespace

LoadedProgram load_program(SourceMap& sources, FileId main, const Catalog& catalog, Diagnostics& diags,
                           const std::string& confine_to, const std::map<std::string, std::string>* overlay) {
  Loader l(sources, catalog, diags, confine_to, overlay);
  std::error_code ec;
  const std::string& name = sources.file(main).name();
  std::string identity = fs::weakly_canonical(fs::path(name), ec).string();
  if (ec || name.empty()) identity = name;
  l.load(main, identity);
  return l.take();
}

std::vector<std::string> stdlib_recipes() {
  std::vector<std::string> out;
  for (const auto& f : stdlib::embedded_files())
    if (f.name.rfind("std/", 0) == 0) out.emplace_back(f.name);
  return out;
}

}  // namespace whittle::lang
