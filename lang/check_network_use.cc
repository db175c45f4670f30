// The `model` line that names a network written in the recipe: which network, that an unknown name
// is an architecture or a network misspelled, and `model NET knob: value` bound to the network's
// parameters (the checker's networks: check_network.cc elaborates them).
#include <fmt/format.h>

#include <algorithm>

#include "lang/checker.h"
#include "lang/suggest.h"

namespace whittle::lang {

Checker::NetworkUse Checker::network_of(const ast::Stage& model) const {
  for (const ast::Arg& a : model.args) {
    const bool names_arch = a.named ? a.name == "arch" : a.value.kind == ast::Value::Kind::Word;
    if (!names_arch || a.value.kind != ast::Value::Kind::Word) continue;
    auto it = prog_.networks.find(a.value.text);
    if (it != prog_.networks.end()) return {&it->second, &a};
    if (!a.named) break;  // the first bare word is the architecture
  }
  return {};
}

bool Checker::unknown_architecture(const ast::Stage& model) {
  if (prog_.networks.empty()) return false;  // the catalog's own message lists the architectures
  const StageDef* def = cat_.stage("model");
  const ParamDef* arch = def ? def->param("arch") : nullptr;
  for (const ast::Arg& a : model.args) {
    if (a.value.kind != ast::Value::Kind::Word || (a.named && a.name != "arch")) continue;
    if (!arch || std::find(arch->type.values.begin(), arch->type.values.end(), a.value.text) != arch->type.values.end())
      return false;
    if (diags_.has("E0103", a.span)) return true;
    std::vector<std::string> names = arch->type.values;
    std::string networks;
    for (const auto& kv : prog_.networks) {
      names.push_back(kv.first);
      networks += (networks.empty() ? "`" : ", `") + kv.first + "`";
    }
    auto d = Diagnostic::make(
        "E0103", a.span,
        fmt::format("`{}` is neither a built-in architecture nor a network of the recipe", a.value.text),
        "unknown architecture");
    d.with_help(
        did_you_mean(a.value.text, names)
            .value_or(fmt::format("the recipe's networks are {}; `whittle doc` lists the built-in ones", networks)));
    diags_.add(std::move(d));
    return true;
  }
  return false;
}

bool Checker::network_params(const NetworkUse& net, const ast::Stage& st, StageInstance& inst, Scope& params) {
  std::vector<ast::Arg> args;
  for (const ast::Arg& a : st.args)
    if (&a != net.arch) args.push_back(a);
  CheckedParam arch;
  arch.name = "arch";
  arch.value.kind = Val::Kind::Enum;
  arch.value.str = net.info->stmt->name;
  arch.value.span = net.arch->span;
  arch.named = net.arch->named;
  inst.params.push_back(arch);
  if (!define_params(*net.info, args, st.name_span, params)) return false;
  for (const ParamDef& p : net.info->params) {
    CheckedParam cp;
    cp.name = p.name;
    cp.value = params.at(p.name).val;
    cp.origin = Origin::Default;
    for (const ast::Arg& a : args)
      if (!a.named || a.name == p.name) cp.origin = Origin::Given;
    for (const ast::Arg& a : args) cp.named = cp.named || (a.named && a.name == p.name);
    inst.params.push_back(std::move(cp));
  }
  return true;
}

}  // namespace whittle::lang
