// Binding a stage's or call's arguments to its parameters. Named arguments go by name; a quantity
// goes to the parameter of its unit, a bare word to the one enum that holds it, a string or plain
// number to the parameter marked positional (docs/language.md, "Statements").
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "lang/checker.h"
#include "lang/suggest.h"

namespace whittle::lang {
namespace {

using VK = ast::Value::Kind;

const char* unit_word(ast::Unit u) { return u == ast::Unit::Percent ? "a percentage" : ast::unit_name(u); }

ast::Unit unit_of_type(TypeKind k) { return Type::unit_of(k); }

TypeKind type_of_unit(ast::Unit u) { return Type::of_unit(u); }

}  // namespace

std::optional<std::string> Checker::inside_a_call(const ast::Arg& a, const std::vector<ParamDef>& params) const {
  // `train 1 epoch lr: 0.1`: `lr` is a parameter of the optimizer's calls, which the stage takes as
  // `optimizer: sgd(...)`. Said with the stage's own default kind when it has the parameter.
  for (const auto& q : params) {
    const Family* fam = q.type.kind == TypeKind::Family ? cat_.family(q.type.name) : nullptr;
    if (!fam) continue;
    const std::string def_kind = q.default_text.substr(0, q.default_text.find('('));
    const CallDef* hit = nullptr;
    for (const auto& k : fam->kinds)
      if (k.param(a.name) && (!hit || k.name == def_kind)) hit = &k;
    if (!hit) continue;
    const SourceFile& f = sources_.file(a.value.span.file);
    const std::string value(f.text().substr(a.value.span.begin, a.value.span.end - a.value.span.begin));
    return fmt::format("`{}` is a parameter of the {} `{}(...)`: write `{}: {}({}: {})`", a.name, q.name, hit->name,
                       q.name, hit->name, a.name, value);
  }
  return std::nullopt;
}

void Checker::unknown_param(const ast::Arg& a, const std::vector<ParamDef>& params, const std::string& owner) {
  if (diags_.has("E0101", a.name_span)) return;
  std::vector<std::string> names;
  for (const auto& q : params) names.push_back(q.name);
  auto d = Diagnostic::make("E0101", a.name_span, fmt::format("`{}` has no parameter `{}`", owner, a.name),
                            fmt::format("not a parameter of `{}`", owner));
  if (auto h = did_you_mean(a.name, names))
    d.with_help(*h);
  else if (auto inner = inside_a_call(a, params))
    d.with_help(*inner);
  else if (names.empty())
    d.with_help(fmt::format("`{}` takes no parameters", owner));
  else
    d.with_help(fmt::format("see `whittle doc {}` for its parameters", owner));
  diags_.add(std::move(d));
}

std::optional<Checker::ArgShape> Checker::positional_shape(const ast::Arg& a) {
  ArgShape sh;
  const ast::Value* v = &a.value;
  for (int hops = 0; v && v->kind == VK::Ref && v->unit == ast::Unit::None && hops < static_cast<int>(kMaxNesting);
       ++hops) {
    const Binding* b = lookup(v->text, v->span);
    if (!b) return std::nullopt;  // unknown variable, already reported
    if (!b->lazy) {
      sh.typed = true;
      sh.val_kind = b->val.kind;
      sh.unit = b->val.unit;
      sh.word = b->val.str;
      v = nullptr;
      break;
    }
    v = b->lazy;
  }
  if (v) {
    sh.kind = v->kind;
    sh.unit = v->unit;
    sh.word = v->text;
    if (v->kind == VK::Arith || v->kind == VK::Ref) sh.kind = v->unit == ast::Unit::None ? VK::Number : VK::Quantity;
    return sh;
  }
  switch (sh.val_kind) {
    case Val::Kind::Quantity:
      sh.kind = VK::Quantity;
      break;
    case Val::Kind::Int:
    case Val::Kind::Float:
      sh.kind = VK::Number;
      break;
    case Val::Kind::String:
      sh.kind = VK::String;
      break;
    case Val::Kind::Bool:
      sh.kind = VK::Bool;
      break;
    case Val::Kind::Enum:
      sh.kind = VK::Word;
      break;
    case Val::Kind::Call:
      sh.kind = VK::Call;
      break;
    default:
      sh.kind = VK::List;
      break;
  }
  return sh;
}

const ParamDef* Checker::word_target(const ast::Arg& a, const ArgShape& sh, const std::vector<ParamDef>& params,
                                     const std::string& owner) {
  std::vector<const ParamDef*> hits;
  for (const auto& p : params) {
    const bool in_enum = sh.kind == VK::Word && p.type.kind == TypeKind::Enum &&
                         std::find(p.type.values.begin(), p.type.values.end(), sh.word) != p.type.values.end();
    const Family* fam = p.type.kind == TypeKind::Family ? cat_.family(p.type.name) : nullptr;
    const bool in_family = fam && fam->kind(sh.word);
    if (in_enum || in_family) hits.push_back(&p);
  }
  if (hits.size() == 1) return hits[0];
  if (hits.size() > 1) {
    diags_.add(Diagnostic::make(
                   "E0109", a.span,
                   fmt::format("`{}` could be `{}` or `{}` of `{}`", sh.word, hits[0]->name, hits[1]->name, owner),
                   "ambiguous")
                   .with_help(fmt::format("name the parameter: `{}: {}`", hits[0]->name, sh.word)));
    return nullptr;
  }
  std::vector<std::string> words;
  for (const auto& p : params)
    if (p.type.kind == TypeKind::Enum) words.insert(words.end(), p.type.values.begin(), p.type.values.end());
  if (sh.kind == VK::Call) {
    diags_.add(Diagnostic::make(cat_.calls_named(sh.word).empty() ? "E0108" : "E0206", a.span,
                                fmt::format("`{}` takes no `{}(...)` without a name", owner, sh.word),
                                "unexpected argument")
                   .with_help(fmt::format("name the parameter, `name: {}(...)`", sh.word)));
    return nullptr;
  }
  if (diags_.has("E0103", a.span)) return nullptr;
  auto d =
      Diagnostic::make("E0103", a.span, fmt::format("`{}` is not an option of `{}`", sh.word, owner), "unknown word");
  if (auto h = did_you_mean(sh.word, words))
    d.with_help(*h);
  else if (words.empty())
    d.with_help(fmt::format("`{}` takes no bare words; see `whittle doc {}`", owner, owner));
  else {
    std::string list;
    for (const auto& w : words) list += (list.empty() ? "`" : ", `") + w + "`";
    d.with_help(fmt::format("the options of `{}` are {}", owner, list));
  }
  diags_.add(std::move(d));
  return nullptr;
}

std::vector<Checker::BoundArg> Checker::bind_args(const std::vector<ast::Arg>& args,
                                                  const std::vector<ParamDef>& params, const std::string& owner,
                                                  bool builtin) {
  std::vector<BoundArg> out;
  std::map<std::string, const ast::Arg*> seen;
  const std::size_t errors_before = diags_.count(Severity::Error);
  auto take = [&](const ParamDef* p, const ast::Arg& a, std::optional<Val> v) {
    auto it = seen.find(p->name);
    if (it != seen.end()) {
      diags_.add(Diagnostic::make("E0204", a.span, fmt::format("`{}` of `{}` is given twice", p->name, owner),
                                  "given again here")
                     .with_label(it->second->span, "first given here")
                     .with_help("keep one of them"));
      return;
    }
    seen[p->name] = &a;
    if (!v) {
      out.push_back({p, &a, Val{}, false});
      return;
    }
    const bool in_range = check_range(*v, *p, owner);
    out.push_back({p, &a, *v, in_range});
  };
  auto positional_ok = [&](const ParamDef& p) { return p.positional || !builtin; };
  auto first_free = [&](auto pred) -> const ParamDef* {
    const ParamDef* any = nullptr;
    for (const auto& p : params) {
      if (!positional_ok(p) || !pred(p)) continue;
      if (!seen.count(p.name)) return &p;
      if (!any) any = &p;
    }
    return any;  // all taken: `take` reports the duplicate
  };
  for (const ast::Arg& a : args) {
    if (a.named) {
      const ParamDef* p = nullptr;
      for (const auto& q : params)
        if (q.name == a.name) p = &q;
      if (p)
        take(p, a, coerce(a.value, p->type));
      else
        unknown_param(a, params, owner);
      continue;
    }
    // Positional: what the value is, following references, says which parameter it is for.
    const std::optional<ArgShape> sh = positional_shape(a);
    if (!sh) continue;
    const ParamDef* target = nullptr;
    switch (sh->kind) {
      case VK::Quantity: {
        const TypeKind want = type_of_unit(sh->unit);
        target = first_free([&](const ParamDef& p) { return p.type.kind == want; });
        if (target) break;
        const ParamDef* other = first_free([&](const ParamDef& p) { return p.type.is_quantity(); });
        if (!other) {
          diags_.add(Diagnostic::make("E0206", a.span,
                                      fmt::format("`{}` takes no {} without a name", owner, unit_word(sh->unit)),
                                      "unexpected argument")
                         .with_help(fmt::format("name the parameter, `name: value`; see `whittle doc {}`", owner)));
          continue;
        }
        if (!seen.count(other->name)) {
          seen[other->name] = &a;
          out.push_back({other, &a, Val{}, false});
        }
        diags_.add(Diagnostic::make("E0201", a.span,
                                    fmt::format("`{}` takes {}, not {}", owner,
                                                unit_word(unit_of_type(other->type.kind)), unit_word(sh->unit)),
                                    fmt::format("{} here", unit_word(sh->unit)))
                       .with_help(fmt::format("its `{}` is {}: {}", other->name, other->type.describe(), other->doc)));
        continue;
      }
      case VK::Number:
        target = first_free(
            [&](const ParamDef& p) { return p.type.kind == TypeKind::Int || p.type.kind == TypeKind::Float; });
        if (!target) target = first_free([&](const ParamDef& p) { return p.type.is_quantity(); });
        break;
      case VK::String:
        target = first_free([&](const ParamDef& p) { return p.type.kind == TypeKind::String; });
        break;
      case VK::Bool:
        target = first_free([&](const ParamDef& p) { return p.type.kind == TypeKind::Bool; });
        break;
      case VK::Word:
      case VK::Call:
        target = word_target(a, *sh, params, owner);
        if (!target) continue;  // reported
        break;
      case VK::List:
      case VK::Range:
      case VK::Ref:
      case VK::Arith:
        break;
    }
    if (!target) {
      diags_.add(Diagnostic::make("E0206", a.span, fmt::format("`{}` does not know what this argument is for", owner),
                                  "unexpected argument")
                     .with_help(fmt::format("name the parameter, `name: value`; see `whittle doc {}`", owner)));
      continue;
    }
    take(target, a, coerce(a.value, target->type));
  }
  bind_failed_ = diags_.count(Severity::Error) > errors_before;
  return out;
}

}  // namespace whittle::lang
