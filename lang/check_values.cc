// The checker's values: coercing written values to parameter types (units, enums, calls, lists),
// ranges, defaults, and binding positional arguments to parameters by unit and enum word.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "lang/checker.h"
#include "lang/parser.h"
#include "lang/suggest.h"

namespace whittle::lang {
namespace {

using VK = ast::Value::Kind;

const char* unit_noun(ast::Unit u) {
  switch (u) {
    case ast::Unit::Epochs:
      return "a number of epochs";
    case ast::Unit::Percent:
      return "a percentage";
    case ast::Unit::Bits:
      return "a bit width";
    case ast::Unit::Channels:
      return "a number of channels";
    case ast::Unit::Outputs:
      return "a number of outputs";
    case ast::Unit::None:
      return "a plain number";
  }
  return "a quantity";
}

ast::Unit unit_of(TypeKind k) { return Type::unit_of(k); }

std::string describe(const ast::Value& v) {
  switch (v.kind) {
    case VK::Number:
      return fmt::format("the number `{}`", v.text);
    case VK::Quantity:
      return fmt::format("`{}{}{}` ({})", v.text, v.unit == ast::Unit::Percent ? "" : " ", v.unit_text,
                         unit_noun(v.unit));
    case VK::String:
      return "a string";
    case VK::Bool:
      return fmt::format("`{}`", v.text);
    case VK::Word:
      return fmt::format("the word `{}`", v.text);
    case VK::Call:
      return fmt::format("`{}(...)`", v.text);
    case VK::List:
      return "a list";
    case VK::Range:
      return "a range";
    case VK::Ref:
      return "$" + v.text;
    case VK::Arith:
      return "an expression";
  }
  return "a value";
}

std::string describe(const Val& v) {
  switch (v.kind) {
    case Val::Kind::Quantity:
      return fmt::format("`{}` ({})", v.canonical(), unit_noun(v.unit));
    case Val::Kind::Model:
      return "a model";
    case Val::Kind::Result:
      return fmt::format("the result of `{}`", v.family);
    case Val::Kind::Call:
      return fmt::format("{} `{}(...)`", v.family, v.str);
    case Val::Kind::List:
      return "a list";
    case Val::Kind::String:
      return "a string";
    default:
      return fmt::format("`{}`", v.canonical());
  }
}

std::string example(TypeKind k) {
  switch (k) {
    case TypeKind::Epochs:
      return "`10 epochs`";
    case TypeKind::Percent:
      return "`20%`";
    case TypeKind::Bits:
      return "`4 bits`";
    case TypeKind::Channels:
      return "`64 channels`";
    case TypeKind::Outputs:
      return "`10 outputs`";
    default:
      return "";
  }
}

void respan(Val& v, Span at) {
  v.span = at;
  for (auto& i : v.items) respan(i, at);
  for (auto& f : v.fields) respan(f.second, at);
}

std::string bound_text(double x, ast::Unit u) {
  Val v;
  v.kind = u == ast::Unit::None ? Val::Kind::Float : Val::Kind::Quantity;
  v.unit = u;
  v.num = x;
  return v.canonical();
}

}  // namespace

std::optional<double> Checker::arith_value(const ast::Value& v) {
  switch (v.kind) {
    case VK::Number:
      return v.number;
    case VK::Ref: {
      ast::Value bare = v;
      bare.unit = ast::Unit::None;
      Type t;
      t.kind = TypeKind::Float;
      auto r = coerce_ref(bare, t);
      if (!r) return std::nullopt;
      return r->num;
    }
    case VK::Arith: {
      if (v.text == "()") return v.items.empty() ? std::nullopt : arith_value(v.items[0]);
      if (v.items.size() != 2) return std::nullopt;
      auto a = arith_value(v.items[0]);
      auto b = arith_value(v.items[1]);
      if (!a || !b) return std::nullopt;
      if (v.text == "+") return *a + *b;
      if (v.text == "-") return *a - *b;
      if (v.text == "*") return *a * *b;
      if (*b == 0) {
        diags_.add(Diagnostic::make("E0409", v.items[1].span, "division by zero", "this is 0")
                       .with_help("divide by a number other than 0"));
        return std::nullopt;
      }
      return *a / *b;
    }
    default:
      diags_.add(Diagnostic::make("E0409", v.span,
                                  fmt::format("arithmetic works on plain numbers and `$names`, not {}", describe(v)),
                                  "not a plain number")
                     .with_help("write the unit once, after the whole expression: `4 * $growth channels`"));
      return std::nullopt;
  }
}

std::optional<Val> Checker::coerce(const ast::Value& v, const Type& t) {
  if (v.kind == VK::Arith || (v.kind == VK::Ref && v.unit != ast::Unit::None)) {
    auto x = arith_value(v);
    if (!x) return std::nullopt;
    ast::Value lit;
    lit.span = v.span;
    lit.number = *x;
    lit.text = format_number(*x);
    lit.unit = v.unit;
    lit.unit_text = ast::unit_name(v.unit);
    lit.kind = v.unit == ast::Unit::None ? VK::Number : VK::Quantity;
    return coerce(lit, t);
  }
  if (v.kind == VK::Ref) return coerce_ref(v, t);
  Val out;
  out.span = v.span;
  auto wrong = [&](const std::string& code, std::string msg, std::optional<std::string> help = std::nullopt) {
    auto d = Diagnostic::make(code, v.span, std::move(msg), fmt::format("expected {}", t.describe()));
    if (help) d.with_help(*help);
    diags_.add(std::move(d));
    return std::optional<Val>();
  };
  const std::string found = describe(v);
  switch (t.kind) {
    case TypeKind::Int:
    case TypeKind::Float:
      if (v.kind == VK::Quantity)
        return wrong("E0201", fmt::format("expected a plain number, found {}", found), "drop the unit");
      if (v.kind != VK::Number) return wrong("E0202", fmt::format("expected a number, found {}", found));
      if (t.kind == TypeKind::Int && v.number != std::floor(v.number))
        return wrong("E0202", fmt::format("expected a whole number, found `{}`", v.text));
      out.kind = t.kind == TypeKind::Int ? Val::Kind::Int : Val::Kind::Float;
      out.num = v.number;
      return out;
    case TypeKind::Bool:
      if (v.kind != VK::Bool) return wrong("E0202", fmt::format("expected `true` or `false`, found {}", found));
      out.kind = Val::Kind::Bool;
      out.num = v.boolean ? 1 : 0;
      return out;
    case TypeKind::String:
      if (v.kind != VK::String)
        return wrong(
            "E0202", fmt::format("expected a string, found {}", found),
            v.kind == VK::Word ? std::optional<std::string>(fmt::format("quote it: `\"{}\"`", v.text)) : std::nullopt);
      out.kind = Val::Kind::String;
      out.str = v.text;
      return out;
    case TypeKind::Epochs:
    case TypeKind::Percent:
    case TypeKind::Bits:
    case TypeKind::Channels:
    case TypeKind::Outputs: {
      const ast::Unit want = unit_of(t.kind);
      if (v.kind == VK::Number) {
        std::string help = fmt::format("write {}", example(t.kind));
        if (want == ast::Unit::Percent && v.number > 0 && v.number <= 1)
          help = fmt::format("did you mean `{}%`?", format_number(v.number * 100));
        else if (want == ast::Unit::Percent)
          help = fmt::format("did you mean `{}%`?", v.text);
        else
          help = fmt::format("did you mean `{}{}`?", v.text, ast::unit_suffix(want, v.number));
        return wrong("E0207", fmt::format("`{}` needs a unit: {} is expected here", v.text, unit_noun(want)), help);
      }
      if (v.kind == VK::Quantity && v.unit != want)
        return wrong("E0201", fmt::format("expected {}, found {}", unit_noun(want), found));
      if (v.kind != VK::Quantity) return wrong("E0202", fmt::format("expected {}, found {}", unit_noun(want), found));
      out.kind = Val::Kind::Quantity;
      out.unit = want;
      out.num = v.number;
      return out;
    }
    case TypeKind::Enum: {
      if (v.kind != VK::Word) return wrong("E0202", fmt::format("expected {}, found {}", t.describe(), found));
      for (const auto& w : t.values) {
        if (w == v.text) {
          out.kind = Val::Kind::Enum;
          out.str = w;
          return out;
        }
      }
      if (diags_.has("E0103", v.span)) return std::nullopt;
      auto d = Diagnostic::make("E0103", v.span, fmt::format("`{}` is not {}", v.text, t.describe()), "unknown word");
      d.with_help(did_you_mean(v.text, t.values).value_or("write " + t.describe()));
      diags_.add(std::move(d));
      return std::nullopt;
    }
    case TypeKind::Family:
      if (v.kind == VK::Word && v.text == "none") {
        out.kind = Val::Kind::None;
        return out;
      }
      if (v.kind == VK::Word || v.kind == VK::Call) return coerce_call(v, t);
      return wrong("E0202", fmt::format("expected {} such as `{}()`, found {}", t.name,
                                        cat_.family(t.name) ? cat_.family(t.name)->kinds.front().name : "x", found));
    case TypeKind::List: {
      out.kind = Val::Kind::List;
      if (v.kind == VK::Range) {
        for (Val& item : expand_range(v)) {
          auto c = check_bound(item, t.item[0], v.span);
          if (c) out.items.push_back(*c);
        }
        return out;
      }
      if (v.kind != VK::List)
        return wrong("E0202", fmt::format("expected {}, found {}", t.describe(), found), "write a list: `[a, b]`");
      for (const auto& item : v.items) {
        auto c = coerce(item, t.item[0]);
        if (c) out.items.push_back(*c);
      }
      return out;
    }
    case TypeKind::Model:
    case TypeKind::Result:
      if (v.kind == VK::Word && v.text == "none" && t.kind == TypeKind::Result) {
        out.kind = Val::Kind::None;
        return out;
      }
      return wrong("E0202", fmt::format("expected {} named with `as`, written `$NAME`, found {}",
                                        t.kind == TypeKind::Model ? "a model" : t.describe(), found));
  }
  return std::nullopt;
}

std::optional<Val> Checker::coerce_call(const ast::Value& v, const Type& t) {
  const Family* fam = cat_.family(t.name);
  const CallDef* def = fam ? fam->kind(v.text) : nullptr;
  if (!def) {
    if (diags_.has("E0108", v.span)) return std::nullopt;
    std::string kinds;
    if (fam)
      for (const auto& k : fam->kinds) kinds += (kinds.empty() ? "`" : ", `") + k.name + "`";
    auto d = Diagnostic::make("E0108", v.span, fmt::format("`{}` is not a kind of {}", v.text, t.name),
                              fmt::format("not a kind of {}", t.name));
    d.with_help(
        fam ? did_you_mean(v.text, fam->kind_names()).value_or(fmt::format("the kinds of {}: {}", t.name, kinds))
            : std::string("no such family"));
    diags_.add(std::move(d));
    return std::nullopt;
  }
  Val out;
  out.kind = Val::Kind::Call;
  out.str = def->name;
  out.family = def->family;
  out.span = v.span;
  fill_call(out, *def, v.args, v.span);
  return out;
}

void Checker::fill_call(Val& out, const CallDef& def, const std::vector<ast::Arg>& args, Span at) {
  auto given = bind_args(args, def.params, def.name, false);
  const bool args_failed = bind_failed_;
  for (const ParamDef& p : def.params) {
    std::optional<Val> v;
    bool failed = false;
    for (const auto& g : given) {
      if (g.def != &p) continue;
      if (g.ok) v = g.val;
      failed = !g.ok;
    }
    if (failed) continue;
    if (!v && p.has_default) v = default_val(p, at);
    if (!v && p.required && !args_failed) {
      diags_.add(Diagnostic::make("E0205", at, fmt::format("`{}` needs `{}` ({})", def.name, p.name, p.type.describe()),
                                  fmt::format("`{}` missing", p.name))
                     .with_help(fmt::format("write `{}({}: ...)`: {}", def.name, p.name, p.doc)));
    }
    if (v) out.fields.emplace_back(p.name, *v);
  }
}

std::optional<Val> Checker::coerce_ref(const ast::Value& v, const Type& t) {
  const Binding* b = lookup(v.text, v.span);
  if (!b) return std::nullopt;
  if (b->lazy) {
    if (std::find(resolving_.begin(), resolving_.end(), b->lazy) != resolving_.end()) {
      diags_.add(Diagnostic::make("E0104", v.span, fmt::format("`${}` is defined in terms of itself", v.text),
                                  "circular definition"));
      return std::nullopt;
    }
    if (resolving_.size() >= kMaxNesting) {
      diags_.add(Diagnostic::make("E0111", v.span,
                                  fmt::format("`${}` is a chain of more than {} `let`s", v.text, kMaxNesting),
                                  "chain too long")
                     .with_help("give one of the `let`s in the chain its value directly"));
      // The `let`s past the cut were never looked at: they are not "never used" (W0004), the chain is the problem.
      for (NameInfo& n : out_.names)
        if (n.kind == NameInfo::Kind::Let) n.used = true;
      return std::nullopt;
    }
    resolving_.push_back(b->lazy);
    const std::size_t before = diags_.all().size();
    auto r = coerce(*b->lazy, t);
    resolving_.pop_back();
    for (std::size_t i = before; i < diags_.all().size(); ++i)  // the use, and the outermost one of a chain
      if (diags_.all()[i].labels.size() < 2 || resolving_.empty())
        diags_.all()[i].with_label(v.span, fmt::format("`${}` used here as {}", v.text, t.describe()));
    return r;
  }
  return check_bound(b->val, t, v.span);
}

std::optional<Val> Checker::check_bound(const Val& v, const Type& t, Span use) {
  bool ok = false;
  Val out = v;
  switch (t.kind) {
    case TypeKind::Int:
      ok = (v.kind == Val::Kind::Int || v.kind == Val::Kind::Float) && v.num == std::floor(v.num);
      out.kind = Val::Kind::Int;
      break;
    case TypeKind::Float:
      ok = v.kind == Val::Kind::Int || v.kind == Val::Kind::Float;
      out.kind = Val::Kind::Float;
      break;
    case TypeKind::Bool:
      ok = v.kind == Val::Kind::Bool;
      break;
    case TypeKind::String:
      ok = v.kind == Val::Kind::String;
      break;
    case TypeKind::Epochs:
    case TypeKind::Percent:
    case TypeKind::Bits:
    case TypeKind::Channels:
    case TypeKind::Outputs:
      ok = v.kind == Val::Kind::Quantity && v.unit == unit_of(t.kind);
      break;
    case TypeKind::Enum:
      for (const auto& w : t.values) ok = ok || (v.kind == Val::Kind::Enum && v.str == w);
      break;
    case TypeKind::Family:
      ok = v.kind == Val::Kind::None || (v.kind == Val::Kind::Call && v.family == t.name);
      break;
    case TypeKind::Model:
      ok = v.kind == Val::Kind::Model;
      break;
    case TypeKind::Result:
      ok = v.kind == Val::Kind::None || (v.kind == Val::Kind::Result && v.family == t.name);
      break;
    case TypeKind::List:
      ok = v.kind == Val::Kind::List;
      if (ok) {
        out.items.clear();
        for (const Val& item : v.items) {
          auto c = check_bound(item, t.item[0], use);
          if (!c) return std::nullopt;
          out.items.push_back(*c);
        }
      }
      break;
  }
  if (!ok) {
    const std::string code = v.kind == Val::Kind::Quantity && t.is_quantity() ? "E0201" : "E0202";
    diags_.add(Diagnostic::make(code, use,
                                fmt::format("this is {}, but {} is expected here", describe(v), t.describe()),
                                fmt::format("expected {}", t.describe())));
    return std::nullopt;
  }
  return out;
}

bool Checker::check_range(const Val& v, const ParamDef& p, const std::string& owner) {
  if (v.kind == Val::Kind::List) {  // a list's range is each item's
    bool ok = true;
    for (const Val& item : v.items) ok = check_range(item, p, owner) && ok;
    return ok;
  }
  if (v.kind == Val::Kind::String && p.required && v.str.empty()) {  // `export ""`: a required text says something
    diags_.add(Diagnostic::make("E0203", v.span, fmt::format("`{}` of `{}` is empty", p.name, owner), "empty")
                   .with_help(fmt::format("`{}` is {}", p.name, p.doc)));
    return false;
  }
  if (!p.range.present || !v.is_number() || p.range.contains(v.num)) return true;
  const ast::Unit u = v.kind == Val::Kind::Quantity ? v.unit : ast::Unit::None;
  std::string rule;
  if (!std::isinf(p.range.lo))
    rule += fmt::format("{} {}", p.range.lo_open ? "above" : "at least", bound_text(p.range.lo, u));
  if (!std::isinf(p.range.hi)) {
    if (!rule.empty()) rule += " and ";
    rule += fmt::format("{} {}", p.range.hi_open ? "below" : "at most", bound_text(p.range.hi, u));
  }
  diags_.add(Diagnostic::make("E0203", v.span,
                              fmt::format("`{}` is out of range for `{}` of `{}`", v.canonical(), p.name, owner),
                              "out of range")
                 .with_help(fmt::format("`{}` must be {}", p.name, rule)));
  return false;
}

std::optional<Val> Checker::default_val(const ParamDef& p, Span at) {
  auto it = default_cache_.find(&p);
  if (it == default_cache_.end()) {
    // Defaults are written in recipe syntax; parse and check each once, in an empty scope.
    std::optional<Val> v;
    const FileId f = sources_.add(fmt::format("<default of {}>", p.name), p.default_text);
    if (auto parsed = parse_value(sources_, f, diags_)) {
      std::vector<Scope> saved = std::move(scopes_);
      scopes_.assign(1, Scope{});
      v = coerce(*parsed, p.type);
      scopes_ = std::move(saved);
    }
    it = default_cache_.emplace(&p, std::move(v)).first;
  }
  if (!it->second) return std::nullopt;
  Val v = *it->second;
  respan(v, at);
  return v;
}

std::optional<Val> Checker::infer(const ast::Value& v) {
  Val out;
  out.span = v.span;
  if (v.kind == VK::Number) {
    out.kind = v.number == std::floor(v.number) ? Val::Kind::Int : Val::Kind::Float;
    out.num = v.number;
    return out;
  }
  if (v.kind == VK::Quantity) {
    out.kind = Val::Kind::Quantity;
    out.unit = v.unit;
    out.num = v.number;
    return out;
  }
  if (v.kind == VK::Arith || (v.kind == VK::Ref && v.unit != ast::Unit::None)) {
    auto x = arith_value(v);
    if (!x) return std::nullopt;
    out.kind = v.unit != ast::Unit::None ? Val::Kind::Quantity
               : *x == std::floor(*x)    ? Val::Kind::Int
                                         : Val::Kind::Float;
    out.unit = v.unit;
    out.num = *x;
    return out;
  }
  if (v.kind == VK::Ref) {
    const Binding* b = lookup(v.text, v.span);
    if (!b) return std::nullopt;
    if (b->lazy) return infer(*b->lazy);
    if (b->val.is_number()) return b->val;
  }
  diags_.add(Diagnostic::make(
      "E0202", v.span, fmt::format("a range runs between numbers or quantities, not {}", describe(v)), "not a number"));
  return std::nullopt;
}

std::vector<Val> Checker::expand_range(const ast::Value& r) {
  std::vector<Val> out;
  auto from = infer(r.items[0]);
  auto to = infer(r.items[1]);
  if (!from || !to) return out;
  if (from->unit != to->unit) {
    diags_.add(Diagnostic::make("E0201", r.span, "the two ends of this range have different units", "mixed units"));
    return out;
  }
  Val step = *from;
  step.num = 1;
  if (r.items.size() > 2) {
    auto s = infer(r.items[2]);
    if (!s) return out;
    if (s->unit != from->unit) {
      diags_.add(Diagnostic::make("E0201", r.items[2].span, "the step of this range has another unit than its ends",
                                  "mixed units"));
      return out;
    }
    step = *s;
  }
  if (step.num <= 0 || to->num < from->num) {
    diags_.add(Diagnostic::make("E0203", r.span, "this range is empty: it must run upwards with a positive step",
                                "empty range")
                   .with_help("write it as `LOW..HIGH by STEP`"));
    return out;
  }
  const double n = std::floor((to->num - from->num) / step.num + 1e-9) + 1;
  if (n > 10000) {
    diags_.add(Diagnostic::make("E0306", r.span,
                                fmt::format("this range has {} values; at most 10000 are allowed", format_number(n)),
                                "too many values"));
    return out;
  }
  const bool integral = from->num == std::floor(from->num) && step.num == std::floor(step.num);
  for (int i = 0; i < static_cast<int>(n); ++i) {
    Val v = *from;
    v.num = std::round((from->num + i * step.num) * 1e9) / 1e9;
    if (v.kind != Val::Kind::Quantity) v.kind = integral ? Val::Kind::Int : Val::Kind::Float;
    v.span = r.span;
    out.push_back(v);
  }
  return out;
}

}  // namespace whittle::lang
