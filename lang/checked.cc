// Canonical printing of checked values, and the `whittle check` listing.
#include "lang/checked.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace whittle::lang {

std::string format_number(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<long long>(v));
  for (int prec = 1; prec <= 17; ++prec) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) return buf;
  }
  return fmt::format("{}", v);
}

std::string Val::canonical() const {
  switch (kind) {
    case Kind::None:
      return "none";
    case Kind::Int:
    case Kind::Float:
      return format_number(num);
    case Kind::Bool:
      return num != 0 ? "true" : "false";
    case Kind::String:
      return ast::quote(str);
    case Kind::Enum:
      return str;
    case Kind::Model:
    case Kind::Result:
      return "$" + str;
    case Kind::Quantity:
      return format_number(num) + ast::unit_suffix(unit, num);
    case Kind::List: {
      std::string s = "[";
      for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i].canonical();
      return s + "]";
    }
    case Kind::Call: {
      std::string s = str + "(";
      for (std::size_t i = 0; i < fields.size(); ++i)
        s += (i ? ", " : "") + fields[i].first + ": " + fields[i].second.canonical();
      return s + ")";
    }
  }
  return "none";
}

const Val* Val::field(const std::string& name) const {
  for (const auto& [k, v] : fields)
    if (k == name) return &v;
  return nullptr;
}

const CheckedParam* StageInstance::param(const std::string& name) const {
  for (const auto& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

const Val* StageInstance::value(const std::string& name) const {
  const CheckedParam* p = param(name);
  return p ? &p->value : nullptr;
}

std::string SearchSpace::label(std::size_t candidate) const {
  std::string out;
  const Candidate& c = candidates[candidate];
  for (std::size_t d = 0; d < dims.size(); ++d)
    out += (d ? " " : "") + dims[d].name + "=" + dims[d].labels[static_cast<std::size_t>(c.choices[d])];
  return out;
}

int SearchSpace::candidate_of(int stage) const {
  for (std::size_t c = 0; c < candidates.size(); ++c)
    for (const Run& r : candidates[c].runs)
      if (stage >= r.begin && stage < r.end) return static_cast<int>(c);
  return -1;
}

std::string dump(const CheckedRecipe& r, const SourceMap& sources) {
  std::string out = fmt::format("recipe {}: {} stage{}\n", r.name, r.stages.size(), r.stages.size() == 1 ? "" : "s");
  for (const StageInstance& s : r.stages) {
    const SourceFile& f = sources.file(s.span.file);
    out += fmt::format("\n#{} {}", s.id, s.kind);
    if (s.written != s.kind) out += fmt::format(" (written `{}`)", s.written);
    out += fmt::format("  at {}:{}", f.name(), f.line_of(s.span.begin));
    if (!s.where.empty()) out += fmt::format("  [{}]", s.where);
    out += "\n";
    std::string inputs;
    if (s.model_in >= 0) inputs += fmt::format(" model: #{}", s.model_in);
    if (s.data_in >= 0 && s.def && s.def->needs_data) inputs += fmt::format(" data: #{}", s.data_in);
    for (int r2 : s.refs_in) inputs += fmt::format(" reads: #{}", r2);
    if (s.train >= 0 && s.kind != "train") inputs += fmt::format(" train: #{}", s.train);
    out += fmt::format("    seed: {}{}{}\n", s.seed, inputs.empty() ? "" : " ", inputs.empty() ? "" : inputs.substr(1));
    if (!s.as_name.empty()) out += fmt::format("    as: {}\n", s.as_name);
    std::size_t width = 0;
    for (const auto& p : s.params) width = std::max(width, p.name.size());
    for (const auto& p : s.params) {
      out += fmt::format("    {:<{}}  {}", p.name, width, p.value.canonical());
      if (p.origin == Origin::Default) out += "  (default)";
      if (p.origin == Origin::Inherited) out += fmt::format("  (from train #{})", p.inherited_from);
      out += "\n";
    }
  }
  return out;
}

}  // namespace whittle::lang
