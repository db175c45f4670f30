// The checker's statements: scopes and names, `repeat` and `sweep` unrolled, `define`s inlined,
// and each stage turned into a StageInstance with its inputs.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "lang/checker.h"
#include "lang/parser.h"
#include "lang/suggest.h"

namespace whittle::lang {

CheckedRecipe check(const LoadedProgram& program, const Catalog& catalog, SourceMap& sources, Diagnostics& diags,
                    const CheckOptions& options) {
  return Checker(program, catalog, sources, diags, options).run();
}

CheckedRecipe Checker::run() {
  scopes_.assign(1, Scope{});
  for (const auto& [name, text] : opts_.overrides) {
    const FileId f = sources_.add(fmt::format("--set {}", name), text);
    if (auto v = parse_value(sources_, f, diags_)) override_values_.emplace(name, std::move(*v));
  }
  const Module& main = prog_.main();
  Frame f;
  block(main.recipe.stmts, f);
  for (const auto& [name, v] : override_values_) {
    bool found = false;
    for (const ast::Stmt& s : main.recipe.stmts) found = found || (s.kind == ast::Stmt::Kind::Let && s.name == name);
    if (!found)
      diags_.add(Diagnostic::make("E0104", v.span,
                                  fmt::format("`--set {}`: the recipe has no top-level `let {}`", name, name),
                                  "nothing to override")
                     .with_help("`--set` replaces the value of a `let` at the top level of the recipe"));
  }
  if (out_.name.empty()) out_.name = std::filesystem::path(sources_.file(main.file).name()).stem().string();
  return std::move(out_);
}

bool Checker::spend(Span at) {
  if (stopped_) return false;
  if (++work_ <= 4 * opts_.max_stages) return true;
  diags_.add(Diagnostic::make("E0306", at,
                              fmt::format("the recipe unrolls too far: more than {} stages, rounds and branches",
                                          4 * opts_.max_stages),
                              "limit reached here")
                 .with_help("lower a `repeat` count or shrink a `sweep`"));
  stopped_ = true;
  out_.complete = false;
  return false;
}

void Checker::block(const std::vector<ast::Stmt>& stmts, Frame& f) {
  for (const ast::Stmt& s : stmts) {
    if (stopped_) return;
    stmt(s, f);
  }
}

void Checker::stmt(const ast::Stmt& s, Frame& f) {
  using K = ast::Stmt::Kind;
  const bool top = scopes_.size() == 1 && define_stack_.empty() && where_.empty();
  switch (s.kind) {
    case K::Recipe:
      if (seen_recipe_) {
        diags_.add(Diagnostic::make("E0105", s.span, "the recipe is named twice", "named again here")
                       .with_label(recipe_span_, "first named here"));
      } else {
        seen_recipe_ = true;
        recipe_span_ = s.span;
        out_.name = s.name;
      }
      break;
    case K::Let: {
      auto o = override_values_.find(s.name);
      let(s, top && o != override_values_.end() ? &o->second : &s.value);
      break;
    }
    case K::Use:
    case K::Define:
    case K::Network:
      if (!top)
        diags_.add(
            Diagnostic::make("E0001", s.span,
                             fmt::format("`{}` belongs at the top level of a file", s.kind == K::Use      ? "use"
                                                                                    : s.kind == K::Define ? "define"
                                                                                                          : "network"),
                             "inside a block")
                .with_help("move it out of the block"));
      break;
    case K::Seed: {
      Type t;
      t.kind = TypeKind::Int;
      if (auto v = coerce(s.value, t)) {
        if (v->num < 0 || v->num > 2147483647.0)
          diags_.add(
              Diagnostic::make("E0203", s.value.span, "a seed is a whole number from 0 to 2147483647", "out of range"));
        else
          f.seed = static_cast<int>(v->num);
      }
      break;
    }
    case K::From: {
      const Binding* b = lookup(s.value.text, s.value.span);
      if (!b) break;
      if (b->lazy || b->val.kind != Val::Kind::Model) {
        diags_.add(
            Diagnostic::make("E0202", s.value.span, fmt::format("`${}` is not a model", s.value.text), "not a model")
                .with_help(
                    "`from` takes a model named with `as`, e.g. `train 200 epochs as teacher` then `from $teacher`"));
        break;
      }
      if (b->val.ref >= 0) f.model = b->val.ref;
      break;
    }
    case K::Repeat:
      repeat(s, f);
      break;
    case K::Sweep:
      sweep(s, f);
      break;
    case K::Search:
      search(s, f);
      break;
    case K::Choose:
      diags_.add(
          Diagnostic::make("E0309", s.span, "`choose` belongs directly inside a `search` block", "outside a search")
              .with_help(
                  "put it at the top of `search lowest ... where ... { choose ...; BODY }`; to train every value, "
                  "use `sweep NAME in VALUES { ... }`"));
      break;
    case K::Chain:
      for (const ast::Stage& st : s.chain) stage(st, f);
      break;
  }
}

void Checker::repeat(const ast::Stmt& s, Frame& f) {
  Type t;
  t.kind = TypeKind::Int;
  auto n = coerce(s.value, t);
  if (!n) return;
  if (n->num < 1) {
    diags_.add(Diagnostic::make("E0203", n->span,
                                fmt::format("`repeat {}` runs its block no times", format_number(n->num)),
                                "must be at least 1")
                   .with_help("repeat takes a count of 1 or more; delete the block to leave it out"));
    return;
  }
  const int rounds = static_cast<int>(std::min(n->num, 1e6));
  for (int r = 1; r <= rounds && spend(s.span); ++r) {
    where_.push_back(fmt::format("repeat {}/{}", r, rounds));
    block(s.body, f);
    where_.pop_back();
  }
}

std::optional<std::vector<Checker::Binding>> Checker::values_of(const ast::Stmt& s, NameInfo::Kind kind) {
  // The values: a list (items checked lazily at each use) or a range (expanded now).
  std::vector<Binding> items;
  const ast::Value* v = &s.value;
  for (int hops = 0; v->kind == ast::Value::Kind::Ref && hops < static_cast<int>(kMaxNesting); ++hops) {
    const Binding* b = lookup(v->text, v->span);
    if (!b) return std::nullopt;
    if (!b->lazy) {
      if (b->val.kind == Val::Kind::List) {
        for (const Val& item : b->val.items) items.push_back(Binding{kind, s.name_span, -1, nullptr, item});
        v = nullptr;
      }
      break;
    }
    v = b->lazy;
  }
  if (v && v->kind == ast::Value::Kind::Range) {
    for (Val& item : expand_range(*v)) items.push_back(Binding{kind, s.name_span, -1, nullptr, item});
  } else if (v && v->kind == ast::Value::Kind::List) {
    for (const ast::Value& item : v->items) items.push_back(Binding{kind, s.name_span, -1, &item, {}});
  } else if (v) {
    const char* what = kind == NameInfo::Kind::Choose ? "a `choose`" : "a sweep";
    diags_.add(Diagnostic::make("E0202", s.value.span,
                                fmt::format("{} runs over a list `[a, b]` or a range `0%..80% by 10%`", what),
                                "not a list or range"));
    return std::nullopt;
  }
  return items;
}

std::string Checker::label_of(const Binding& b) const {
  return b.lazy ? std::string(sources_.file(b.lazy->span.file)
                                  .text()
                                  .substr(b.lazy->span.begin, b.lazy->span.end - b.lazy->span.begin))
                : b.val.canonical();
}

void Checker::sweep(const ast::Stmt& s, Frame& f) {
  auto items = values_of(s, NameInfo::Kind::SweepVar);
  if (!items) return;
  for (Binding& b : *items) {
    if (!spend(s.span)) return;
    Frame branch = f;
    scopes_.emplace_back();
    const std::string label = label_of(b);
    bind(s.name, s.name_span, b);
    where_.push_back(fmt::format("sweep {}={}", s.name, label));
    block(s.body, branch);
    where_.pop_back();
    scopes_.pop_back();
  }
}

void Checker::let(const ast::Stmt& s, const ast::Value* value) {
  Binding b;
  b.kind = NameInfo::Kind::Let;
  b.def_span = s.name_span;
  b.lazy = value;
  bind(s.name, s.name_span, b);
}

void Checker::bind(const std::string& name, Span span, Binding b) {
  Scope& scope = scopes_.back();
  auto it = scope.find(name);
  if (it != scope.end() && it->second.def_span != span) {
    diags_.add(Diagnostic::make("E0105", span, fmt::format("`{}` is defined twice", name), "defined again here")
                   .with_label(it->second.def_span, "first defined here")
                   .with_help("rename one of them"));
    return;
  }
  if (define_stack_.empty() || (b.kind != NameInfo::Kind::SweepVar && b.kind != NameInfo::Kind::Choose)) {
    auto idx = name_index_.find(span);
    if (idx == name_index_.end()) {
      idx = name_index_.emplace(span, static_cast<int>(out_.names.size())).first;
      out_.names.push_back(NameInfo{name, b.kind, span, false});
    }
    b.name_index = idx->second;
  }
  scope[name] = std::move(b);
}

const Checker::Binding* Checker::lookup(const std::string& name, Span use) {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    auto found = it->find(name);
    if (found != it->end()) {
      if (found->second.name_index >= 0) out_.names[static_cast<std::size_t>(found->second.name_index)].used = true;
      return &found->second;
    }
  }
  if (diags_.has("E0104", use)) return nullptr;
  std::vector<std::string> visible;
  for (const auto& scope : scopes_)
    for (const auto& kv : scope) visible.push_back(kv.first);
  auto d = Diagnostic::make("E0104", use, fmt::format("unknown variable `${}`", name), "not defined");
  if (auto h = did_you_mean(name, visible))
    d.with_help(*h);
  else if (!define_stack_.empty())
    d.with_help(fmt::format("inside `{}`, only its parameters and its own names are visible", define_stack_.back()));
  else
    d.with_help("define it first with `let " + name + " = ...`, or name a model with `as " + name + "`");
  diags_.add(std::move(d));
  return nullptr;
}

void Checker::stage(const ast::Stage& st, Frame& f) {
  if (!spend(st.name_span)) return;
  if (st.has_body) {
    if (!diags_.has("E0407", st.body_span))
      diags_.add(Diagnostic::make("E0407", st.body_span, fmt::format("`{}` takes no block of layers", st.name),
                                  "a block of layers")
                     .with_help(cat_.layer(st.name) || prog_.defines.count(st.name) == 0
                                    ? "layer blocks belong to `residual` and `dense` inside a `network`; a stage's `{ "
                                      "}` holds `name: value` arguments"
                                    : "a stage's `{ }` block holds `name: value` arguments"));
    return;
  }
  auto d = prog_.defines.find(st.name);
  if (d != prog_.defines.end()) return call_define(d->second, st, f);
  if (const StageDef* def = cat_.stage(st.name)) {
    NetworkUse net = st.name == "model" ? network_of(st) : NetworkUse{};
    if (st.name == "model" && !net.info) net.unknown = unknown_architecture(st);
    return builtin_stage(*def, st, f, net);
  }
  if (diags_.has("E0102", st.name_span) || diags_.has("E0407", st.name_span))
    return;  // the same line again, in another round
  if (cat_.layer(st.name)) {
    diags_.add(Diagnostic::make("E0407", st.name_span,
                                fmt::format("`{}` is a layer, and layers belong in a network", st.name),
                                "a layer outside a network")
                   .with_help(fmt::format("declare the architecture with `network my_net {{ ... {} ... }}`, then start "
                                          "the chain with `model my_net`",
                                          st.name)));
    return;
  }
  std::vector<std::string> names = cat_.stage_names();
  for (const auto& kv : prog_.defines) names.push_back(kv.first);
  auto diag = Diagnostic::make("E0102", st.name_span, fmt::format("unknown stage `{}`", st.name), "not a stage");
  diag.with_help(did_you_mean(st.name, names).value_or("`whittle doc` lists the stages; `define` makes new ones"));
  diags_.add(std::move(diag));
}

void Checker::builtin_stage(const StageDef& def, const ast::Stage& st, Frame& f, const NetworkUse& net) {
  StageInstance inst;
  inst.id = static_cast<int>(out_.stages.size());
  inst.kind = def.name;
  inst.written = st.name;
  inst.def = &def;
  inst.span = st.span;
  inst.name_span = st.name_span;
  inst.seed = f.seed;
  inst.call_sites = call_sites_;
  for (std::size_t i = 0; i < where_.size(); ++i) inst.where += (i ? ", " : "") + where_[i];
  Scope net_params;
  bool net_ok = false;
  if (net.info) net_ok = network_params(net, st, inst, net_params);
  auto given = net.info ? std::vector<BoundArg>{} : bind_args(st.args, def.params, st.name, true);
  const bool args_failed = bind_failed_ || net.unknown;
  static const std::vector<ParamDef> none;
  for (const ParamDef& p : net.info ? none : def.params) {
    CheckedParam cp;
    cp.name = p.name;
    bool have = false, failed = false;
    for (const auto& g : given) {
      if (g.def == &p) {
        cp.value = g.val;
        cp.named = g.arg && g.arg->named;
        have = true;
        failed = !g.ok;
      }
    }
    if (failed) continue;
    if (!have && p.inherit) {
      cp.origin = Origin::Inherited;  // filled from the train in retrain_flow
    } else if (!have && p.has_default) {
      auto v = default_val(p, st.name_span);
      if (v) cp.value = *v;
      cp.origin = Origin::Default;
    } else if (!have) {
      if (args_failed) continue;  // an argument meant for it was already reported
      const std::string ex = p.positional && p.type.is_quantity()
                                 ? fmt::format("e.g. `{} {}`", st.name,
                                               p.type.kind == TypeKind::Epochs     ? "10 epochs"
                                               : p.type.kind == TypeKind::Percent  ? "20%"
                                               : p.type.kind == TypeKind::Channels ? "64 channels"
                                               : p.type.kind == TypeKind::Outputs  ? "10 outputs"
                                                                                   : "8 bits")
                                 : fmt::format("add `{}: ...` ({})", p.name, p.type.describe());
      diags_.add(Diagnostic::make("E0205", st.name_span, fmt::format("`{}` needs its `{}`: {}", st.name, p.name, p.doc),
                                  fmt::format("`{}` missing", p.name))
                     .with_help(ex));
      continue;
    }
    inst.params.push_back(std::move(cp));
  }
  if (def.needs_model && f.model < 0) {
    diags_.add(Diagnostic::make("E0301", st.name_span,
                                fmt::format("`{}` needs a model, but no `model` comes before it", st.name),
                                "no model yet")
                   .with_help("start the chain with a `model` line, e.g. `model resnet18`"));
  }
  if (def.needs_data && f.data < 0) {
    diags_.add(Diagnostic::make("E0302", st.name_span,
                                fmt::format("`{}` needs data, but no `data` comes before it", st.name), "no data yet")
                   .with_help("add a `data` line before it, e.g. `data cifar10` or `data fashion_mnist`"));
  }
  inst.model_in = def.needs_model ? f.model : -1;
  inst.data_in = def.needs_data ? f.data : -1;
  if (net_ok && inst.data_in >= 0)
    inst.network = elaborate(net, net_params, out_.stages[static_cast<std::size_t>(inst.data_in)], st);
  inst.train = def.name == "train"  ? inst.id
               : inst.model_in >= 0 ? out_.stages[static_cast<std::size_t>(inst.model_in)].train
                                    : -1;
  collect_refs(inst);
  if (def.name == "retrain") retrain_flow(inst, given);
  apply_rules(inst);
  if (def.name == "model" && !net.info) script_model(inst);
  script_refusals(inst);
  export_refusals(inst);
  if (out_.stages.size() >= opts_.max_stages) {
    diags_.add(Diagnostic::make("E0306", st.name_span,
                                fmt::format("the recipe unrolls into more than {} stages", opts_.max_stages),
                                "limit reached here")
                   .with_help("lower a `repeat` count or shrink a `sweep`"));
    stopped_ = true;
    out_.complete = false;
    return;
  }
  const int id = inst.id;
  if (!st.as_name.empty()) inst.as_name = st.as_name;
  out_.stages.push_back(std::move(inst));
  if (def.produces == StageDef::Produces::Model) f.model = id;
  if (def.produces == StageDef::Produces::Data) f.data = id;
  if (!st.as_name.empty()) {
    Binding b;
    b.kind = NameInfo::Kind::As;
    b.def_span = st.as_span;
    b.val.kind = def.produces == StageDef::Produces::Model ? Val::Kind::Model : Val::Kind::Result;
    b.val.family = def.name;
    b.val.str = st.as_name;
    b.val.ref = id;
    b.val.span = st.as_span;
    bind(st.as_name, st.as_span, b);
  }
}

bool Checker::define_params(const DefineInfo& d, const std::vector<ast::Arg>& args, Span at, Scope& params) {
  const std::string& name = d.stmt->name;
  auto given = bind_args(args, d.params, name, false);
  bool complete = !bind_failed_;
  const bool args_failed = bind_failed_;
  for (std::size_t i = 0; i < d.params.size(); ++i) {
    const ParamDef& p = d.params[i];
    Binding b;
    b.def_span = d.stmt->params[i].name_span;
    bool have = false, failed = false;
    for (const auto& g : given) {
      if (g.def == &p) {
        b.val = g.val;
        have = true;
        failed = !g.ok;
      }
    }
    if (failed) {
      complete = false;
      continue;
    }
    if (!have && d.defaults[i]) {
      std::vector<Scope> saved = std::move(scopes_);
      scopes_.assign(1, Scope{});
      auto v = coerce(*d.defaults[i], p.type);
      scopes_ = std::move(saved);
      if (!v) {
        complete = false;
        continue;
      }
      b.val = *v;
      have = true;
    }
    if (!have) {
      complete = false;
      if (args_failed) continue;
      diags_.add(Diagnostic::make("E0205", at, fmt::format("`{}` needs its `{}` ({})", name, p.name, p.type.describe()),
                                  fmt::format("`{}` missing", p.name))
                     .with_label(d.stmt->params[i].name_span, "declared here without a default")
                     .with_help(fmt::format("add `{}: ...`", p.name)));
      continue;
    }
    params[p.name] = b;
  }
  return complete;
}

void Checker::call_define(const DefineInfo& d, const ast::Stage& st, Frame& f) {
  const std::string& name = d.stmt->name;
  if (std::find(define_stack_.begin(), define_stack_.end(), name) != define_stack_.end()) {
    diags_.add(Diagnostic::make("E0306", st.name_span, fmt::format("`{}` uses itself, so it would never end", name),
                                "recursive use")
                   .with_label(d.stmt->name_span, "defined here")
                   .with_help("a `define` may call other stages, but not itself; use `repeat` for rounds"));
    return;
  }
  if (define_stack_.size() >= kMaxNesting) {
    diags_.add(Diagnostic::make("E0111", st.name_span,
                                fmt::format("`define`d stages call each other more than {} deep", kMaxNesting),
                                "too deep")
                   .with_help("call the stages you need from fewer levels of `define`"));
    return;
  }
  Scope params;
  if (!define_params(d, st.args, st.name_span, params)) return;  // expanding the body would only repeat the problem
  std::vector<Scope> saved = std::move(scopes_);
  scopes_.assign(1, std::move(params));
  call_sites_.push_back(st.span);
  define_stack_.push_back(name);
  where_.push_back(name);
  const std::size_t before = diags_.all().size();
  block(d.stmt->body, f);
  for (std::size_t i = before; i < diags_.all().size(); ++i)
    diags_.all()[i].with_label(st.name_span, fmt::format("in this use of `{}`", name));
  where_.pop_back();
  define_stack_.pop_back();
  call_sites_.pop_back();
  scopes_ = std::move(saved);
  if (!st.as_name.empty() && f.model >= 0) {
    Binding b;
    b.kind = NameInfo::Kind::As;
    b.def_span = st.as_span;
    b.val.kind = Val::Kind::Model;
    b.val.str = st.as_name;
    b.val.ref = f.model;
    b.val.span = st.as_span;
    bind(st.as_name, st.as_span, b);
  }
}

}  // namespace whittle::lang
