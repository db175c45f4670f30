// Typed parameter reads (params.h).
#include "runtime/plan/params.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "lang/catalog.h"

namespace whittle::runtime {

Params::Params(const lang::StageInstance& s) : stage_(&s) {}

Params::Params(const lang::Val& call) : call_(&call) {
  if (call.kind != lang::Val::Kind::Call)
    throw ParamError(fmt::format("whittle bug: `{}` is read as a call's fields, and it is no call", call.canonical()));
}

std::string Params::owner() const {
  return stage_ ? fmt::format("stage `{}`", stage_->kind) : fmt::format("`{}`", call_->str);
}

std::vector<std::string> Params::declared() const {
  std::vector<std::string> out;
  if (stage_ && stage_->def) out = stage_->def->param_names();
  if (call_)
    for (const auto& [name, v] : call_->fields) out.push_back(name);
  return out;
}

const lang::Val& Params::find(const char* name) const {
  const lang::Val* v = nullptr;
  if (stage_) {
    const bool declared = stage_->def && stage_->def->param(name);
    if (declared) v = stage_->value(name);
  } else {
    v = call_->field(name);
  }
  if (!v)
    throw ParamError(
        fmt::format("whittle bug: the runtime reads `{}` of {}, which stdlib/stages.yaml does not declare "
                    "(it declares: {})",
                    name, owner(), fmt::join(declared(), ", ")));
  return *v;
}

namespace {
[[noreturn]] void wrong(const std::string& owner, const char* name, const char* wanted, const lang::Val& v) {
  throw ParamError(fmt::format("whittle bug: the runtime reads `{}` of {} as {}, and the catalog makes it `{}`", name,
                               owner, wanted, v.canonical()));
}
}  // namespace

double Params::number(const char* name) const {
  const lang::Val& v = find(name);
  if (!v.is_number()) wrong(owner(), name, "a number", v);
  return v.num;
}

std::int64_t Params::count(const char* name) const {
  const double n = number(name);
  if (n != std::floor(n)) wrong(owner(), name, "a whole number", find(name));
  return static_cast<std::int64_t>(n);
}

double Params::fraction(const char* name) const {
  const lang::Val& v = find(name);
  if (v.kind != lang::Val::Kind::Quantity || v.unit != lang::ast::Unit::Percent) wrong(owner(), name, "a percent", v);
  return v.num / 100.0;
}

std::vector<double> Params::fractions(const char* name) const {
  const lang::Val& v = find(name);
  if (v.kind != lang::Val::Kind::List) wrong(owner(), name, "a list of percents", v);
  std::vector<double> out;
  for (const auto& item : v.items) {
    if (item.kind != lang::Val::Kind::Quantity || item.unit != lang::ast::Unit::Percent)
      wrong(owner(), name, "a list of percents", v);
    out.push_back(item.num / 100.0);
  }
  return out;
}

const std::string& Params::word(const char* name) const {
  const lang::Val& v = find(name);
  if (v.kind != lang::Val::Kind::Enum && v.kind != lang::Val::Kind::String)
    wrong(owner(), name, "a word or a string", v);
  return v.str;
}

bool Params::flag(const char* name) const {
  const lang::Val& v = find(name);
  if (v.kind != lang::Val::Kind::Bool) wrong(owner(), name, "true or false", v);
  return v.num != 0;
}

const lang::Val& Params::value(const char* name) const { return find(name); }

bool Params::declares(const char* name) const {
  return stage_ ? stage_->def && stage_->def->param(name) && stage_->value(name) : call_->field(name) != nullptr;
}

bool Params::given(const char* name) const {
  find(name);
  if (!stage_) return true;
  const lang::CheckedParam* p = stage_->param(name);
  return p && p->origin == lang::Origin::Given;
}

}  // namespace whittle::runtime
