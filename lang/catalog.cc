// Reading stdlib/stages.yaml with yaml-cpp, with every mistake reported at its file and line (at build
// time: catalog_json.h), and looking things up in the catalog.
#include "lang/catalog.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "lang/catalog_json.h"

namespace whittle::lang {

CatalogError::CatalogError(std::string f, int l, const std::string& msg)
    : std::runtime_error(fmt::format("{}:{}: {}", f, l, msg)), file(std::move(f)), line(l) {}

bool Interval::contains(double v) const {
  if (!present) return true;
  if (v < lo || (lo_open && v == lo)) return false;
  if (v > hi || (hi_open && v == hi)) return false;
  return true;
}

ast::Unit Type::unit_of(TypeKind k) {
  switch (k) {
    case TypeKind::Epochs:
      return ast::Unit::Epochs;
    case TypeKind::Percent:
      return ast::Unit::Percent;
    case TypeKind::Bits:
      return ast::Unit::Bits;
    case TypeKind::Channels:
      return ast::Unit::Channels;
    case TypeKind::Outputs:
      return ast::Unit::Outputs;
    default:
      return ast::Unit::None;
  }
}

TypeKind Type::of_unit(ast::Unit u) {
  for (TypeKind k : {TypeKind::Epochs, TypeKind::Percent, TypeKind::Bits, TypeKind::Channels, TypeKind::Outputs})
    if (unit_of(k) == u) return k;
  return TypeKind::Int;
}

std::string Type::describe() const {
  switch (kind) {
    case TypeKind::Int:
      return "int";
    case TypeKind::Float:
      return "float";
    case TypeKind::Bool:
      return "bool";
    case TypeKind::String:
      return "string";
    case TypeKind::Epochs:
      return "epochs";
    case TypeKind::Percent:
      return "percent";
    case TypeKind::Bits:
      return "bits";
    case TypeKind::Channels:
      return "channels";
    case TypeKind::Outputs:
      return "outputs";
    case TypeKind::Model:
      return "model";
    case TypeKind::Result:
      return "result of " + name;
    case TypeKind::Family:
      return name;
    case TypeKind::List:
      return "list of " + (item.empty() ? std::string("values") : item[0].describe());
    case TypeKind::Enum: {
      std::string s = "one of ";
      for (std::size_t i = 0; i < values.size(); ++i) s += (i ? ", `" : "`") + values[i] + "`";
      return s;
    }
  }
  return "value";
}

const ParamDef* CallDef::param(const std::string& n) const {
  for (const auto& p : params)
    if (p.name == n) return &p;
  return nullptr;
}
bool ParamDef::applies_for(const std::string& word) const {
  return only_for.empty() || std::find(only_for_values.begin(), only_for_values.end(), word) != only_for_values.end();
}

const ParamDef* StageDef::param(const std::string& n) const {
  for (const auto& p : params)
    if (p.name == n) return &p;
  return nullptr;
}
std::vector<std::string> StageDef::param_names() const {
  std::vector<std::string> out;
  for (const auto& p : params) out.push_back(p.name);
  return out;
}
const CallDef* Family::kind(const std::string& n) const {
  for (const auto& k : kinds)
    if (k.name == n) return &k;
  return nullptr;
}
std::vector<std::string> Family::kind_names() const {
  std::vector<std::string> out;
  for (const auto& k : kinds) out.push_back(k.name);
  return out;
}

namespace {

struct Reader {
  std::string file;
  std::vector<std::string> family_names;

  [[noreturn]] void fail(const YAML::Node& n, const std::string& msg) const {
    throw CatalogError(file, n.Mark().line >= 0 ? n.Mark().line + 1 : 0, msg);
  }

  std::string scalar(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) fail(n, what + " must be a single value");
    return n.as<std::string>();
  }

  void only_keys(const YAML::Node& map, std::initializer_list<const char*> keys, const std::string& what) const {
    for (const auto& kv : map) {
      const std::string k = kv.first.as<std::string>();
      bool ok = false;
      for (const char* allowed : keys) ok = ok || k == allowed;
      if (!ok) fail(kv.first, fmt::format("unknown key `{}` in {}", k, what));
    }
  }

  Interval interval(const YAML::Node& n) const {
    const std::string t = scalar(n, "range");
    Interval r;
    r.present = true;
    r.text = t;
    const auto comma = t.find(',');
    if (t.size() < 5 || (t.front() != '[' && t.front() != '(') || (t.back() != ']' && t.back() != ')') ||
        comma == std::string::npos)
      fail(n, fmt::format("range `{}` is not an interval such as \"[0, 100)\" or \"(0, inf)\"", t));
    auto bound = [&](std::string s, bool low) {
      s.erase(0, s.find_first_not_of(' '));
      s.erase(s.find_last_not_of(' ') + 1);
      if (s == "inf") return low ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
      if (s == "-inf") return -std::numeric_limits<double>::infinity();
      char* end = nullptr;
      double v = std::strtod(s.c_str(), &end);
      if (s.empty() || *end) fail(n, fmt::format("range bound `{}` is not a number", s));
      return v;
    };
    r.lo_open = t.front() == '(';
    r.hi_open = t.back() == ')';
    r.lo = bound(t.substr(1, comma - 1), true);
    r.hi = bound(t.substr(comma + 1, t.size() - comma - 2), false);
    return r;
  }

  Type type(const YAML::Node& p, const std::string& where) const {
    if (!p["type"]) fail(p, where + " has no `type`");
    const std::string t = scalar(p["type"], "type");
    Type ty;
    if (t == "int")
      ty.kind = TypeKind::Int;
    else if (t == "float")
      ty.kind = TypeKind::Float;
    else if (t == "bool")
      ty.kind = TypeKind::Bool;
    else if (t == "string")
      ty.kind = TypeKind::String;
    else if (t == "epochs")
      ty.kind = TypeKind::Epochs;
    else if (t == "percent")
      ty.kind = TypeKind::Percent;
    else if (t == "bits")
      ty.kind = TypeKind::Bits;
    else if (t == "channels")
      ty.kind = TypeKind::Channels;
    else if (t == "outputs")
      ty.kind = TypeKind::Outputs;
    else if (t == "model")
      ty.kind = TypeKind::Model;
    else if (t == "enum")
      ty.kind = TypeKind::Enum;
    else if (t == "result") {
      ty.kind = TypeKind::Result;
      if (!p["of"]) fail(p, where + ": a result type needs `of: STAGE`");
      ty.name = scalar(p["of"], "of");
    } else if (t == "list") {
      ty.kind = TypeKind::List;
      if (!p["item"]) fail(p, where + ": a list needs `item: TYPE`");
      YAML::Node item;
      item["type"] = p["item"];
      if (p["values"]) item["values"] = p["values"];
      ty.item.push_back(type(item, where + " item"));
      return ty;
    } else {
      bool family = false;
      for (const auto& f : family_names) family = family || f == t;
      if (!family) fail(p["type"], fmt::format("{}: unknown type `{}`", where, t));
      ty.kind = TypeKind::Family;
      ty.name = t;
    }
    if (ty.kind == TypeKind::Enum) {
      if (!p["values"] || !p["values"].IsSequence() || p["values"].size() == 0)
        fail(p, where + ": an enum needs a non-empty list of `values`");
      for (const auto& v : p["values"]) ty.values.push_back(scalar(v, "an enum value"));
    }
    return ty;
  }

  std::vector<ParamDef> params(const YAML::Node& n, const std::string& owner) const {
    std::vector<ParamDef> out;
    if (!n) return out;
    if (!n.IsMap()) fail(n, owner + ": `params` must be a map of name → parameter");
    for (const auto& kv : n) {
      ParamDef p;
      p.name = kv.first.as<std::string>();
      const YAML::Node& d = kv.second;
      const std::string where = owner + "." + p.name;
      if (!d.IsMap()) fail(d, where + " must be a map with at least `type`");
      only_keys(d,
                {"type", "values", "item", "of", "default", "required", "inherit", "range", "positional", "key",
                 "only_for", "doc"},
                where);
      p.line = d.Mark().line + 1;
      p.type = type(d, where);
      if (d["default"]) {
        p.default_text = scalar(d["default"], "default");
        p.has_default = true;
      }
      p.required = d["required"] && d["required"].as<bool>();
      p.inherit = d["inherit"] && d["inherit"].as<bool>();
      p.positional = d["positional"] && d["positional"].as<bool>();
      if (d["range"]) p.range = interval(d["range"]);
      if (d["key"]) {
        const std::string k = scalar(d["key"], "key");
        if (k == "false")
          p.key = KeyPolicy::Never;
        else if (k == "unless_default")
          p.key = KeyPolicy::UnlessDefault;
        else if (k == "test_split")
          p.key = KeyPolicy::TestSplit;
        else if (k != "true")
          fail(d["key"], fmt::format("{}: `key` is true, false, unless_default or test_split, not `{}`", where, k));
      }
      if (const YAML::Node o = d["only_for"]) {
        if (!o.IsMap() || o.size() != 1 || !o.begin()->second.IsSequence())
          fail(o, where + ": `only_for` is one parameter and the words it may hold, {arch: [resnet18, ...]}");
        p.only_for = o.begin()->first.as<std::string>();
        for (const auto& w : o.begin()->second) p.only_for_values.push_back(scalar(w, "only_for"));
      }
      if (!d["doc"]) fail(d, where + " has no `doc`");
      p.doc = scalar(d["doc"], "doc");
      if (p.required + p.has_default + p.inherit != 1)
        fail(d, where + " needs exactly one of `default`, `required: true` or `inherit: true`");
      out.push_back(std::move(p));
    }
    return out;
  }

  std::vector<std::pair<std::string, std::string>> pairs(const YAML::Node& n) const {
    std::vector<std::pair<std::string, std::string>> out;
    if (!n) return out;
    if (n.IsMap()) {
      for (const auto& kv : n) out.emplace_back(kv.first.as<std::string>(), scalar(kv.second, "a rule value"));
    } else if (n.IsSequence()) {
      for (const auto& m : n) {
        if (!m.IsMap()) fail(m, "expected `param: value`");
        for (const auto& kv : m) out.emplace_back(kv.first.as<std::string>(), scalar(kv.second, "a rule value"));
      }
    } else {
      fail(n, "expected a map of `param: value`");
    }
    return out;
  }

  StageRule rule(const YAML::Node& n, const StageDef& s) const {
    only_keys(n, {"when", "require", "forbid", "message"}, "a rule of " + s.name);
    StageRule r;
    r.line = n.Mark().line + 1;
    r.when = pairs(n["when"]);
    r.require = pairs(n["require"]);
    r.forbid = pairs(n["forbid"]);
    if (!n["message"]) fail(n, "a rule of " + s.name + " has no `message`");
    r.message = scalar(n["message"], "message");
    for (const auto* list : {&r.when, &r.require, &r.forbid})
      for (const auto& [k, v] : *list)
        if (!s.param(k)) fail(n, fmt::format("a rule of {} names unknown parameter `{}`", s.name, k));
    return r;
  }
};

}  // namespace

Catalog Catalog::load(std::string_view yaml, const std::string& file_name) {
  if (is_compiled_catalog(yaml)) {  // what the build makes of the YAML (catalog_json.h)
    CatalogParts parts = catalog_parts_from_json(yaml, file_name);
    Catalog c;
    c.stages_ = std::move(parts.stages);
    c.families_ = std::move(parts.families);
    c.layers_ = std::move(parts.layers);
    c.aliases_ = std::move(parts.aliases);
    return c;
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw CatalogError(file_name, e.mark.line + 1, e.msg);
  }
  Reader rd{file_name, {}};
  if (!root.IsMap()) rd.fail(root, "the catalog must be a map with `families` and `stages`");
  rd.only_keys(root, {"version", "families", "stages", "layers"}, "the catalog");
  Catalog c;
  auto call = [&rd](const auto& k, const std::string& family) {
    CallDef cd;
    cd.family = family;
    cd.name = k.first.template as<std::string>();
    cd.line = k.second.Mark().line + 1;
    rd.only_keys(k.second, {"doc", "params"}, cd.name);
    if (!k.second["doc"]) rd.fail(k.second, cd.name + " has no `doc`");
    cd.doc = k.second["doc"].template as<std::string>();
    cd.params = rd.params(k.second["params"], cd.name);
    return cd;
  };
  try {
    const YAML::Node fams = root["families"];
    if (fams) {
      for (const auto& kv : fams) rd.family_names.push_back(kv.first.as<std::string>());
      for (const auto& kv : fams) {
        Family f;
        f.name = kv.first.as<std::string>();
        rd.only_keys(kv.second, {"doc", "kinds"}, "family " + f.name);
        f.doc = kv.second["doc"] ? kv.second["doc"].as<std::string>() : "";
        if (!kv.second["kinds"] || !kv.second["kinds"].IsMap())
          rd.fail(kv.second, "family " + f.name + " has no `kinds`");
        for (const auto& k : kv.second["kinds"]) f.kinds.push_back(call(k, f.name));
        c.families_.push_back(std::move(f));
      }
    }
    if (const YAML::Node layers = root["layers"]) {
      if (!layers.IsMap()) rd.fail(layers, "`layers` is a map of layer names");
      for (const auto& k : layers) c.layers_.push_back(call(k, "layer"));
    }
    const YAML::Node stages = root["stages"];
    if (!stages || !stages.IsMap()) rd.fail(root, "the catalog has no `stages` map");
    for (const auto& kv : stages) {
      StageDef s;
      s.name = kv.first.as<std::string>();
      const YAML::Node& d = kv.second;
      rd.only_keys(d, {"doc", "version", "needs", "produces", "reads_test", "role", "params", "rules", "alias"},
                   "stage " + s.name);
      s.line = d.Mark().line + 1;
      if (d["alias"]) {
        c.aliases_.emplace_back(s.name, rd.scalar(d["alias"], "alias"));
        continue;
      }
      if (!d["doc"]) rd.fail(d, "stage " + s.name + " has no `doc`");
      s.doc = d["doc"].as<std::string>();
      if (d["version"]) {
        s.version = d["version"].as<int>(0);
        if (s.version < 1) rd.fail(d["version"], fmt::format("stage {}: `version` is a whole number from 1", s.name));
      }
      if (d["needs"]) {
        for (const auto& n : d["needs"]) {
          const std::string what = rd.scalar(n, "needs");
          if (what == "model")
            s.needs_model = true;
          else if (what == "data")
            s.needs_data = true;
          else
            rd.fail(n, fmt::format("stage {}: `needs` takes `model` and `data`, not `{}`", s.name, what));
        }
      }
      s.reads_test = d["reads_test"] && d["reads_test"].as<bool>();
      if (d["role"]) {
        const std::string role = rd.scalar(d["role"], "role");
        s.role = role_of_word(role);
        if (s.role == StageDef::Role::None)
          rd.fail(d["role"],
                  fmt::format("stage {}: `role` is start, train, compress, measure, table or deliver, not `{}`", s.name,
                              role));
      }
      const std::string produces = d["produces"] ? rd.scalar(d["produces"], "produces") : "model";
      if (produces == "model")
        s.produces = StageDef::Produces::Model;
      else if (produces == "data")
        s.produces = StageDef::Produces::Data;
      else if (produces == "nothing")
        s.produces = StageDef::Produces::Nothing;
      else
        rd.fail(d["produces"],
                fmt::format("stage {}: `produces` is model, data or nothing, not `{}`", s.name, produces));
      s.params = rd.params(d["params"], s.name);
      for (const auto& p : s.params) {
        if (p.only_for.empty()) continue;
        const ParamDef* other = s.param(p.only_for);
        if (!other || other->type.kind != TypeKind::Enum)
          rd.fail(d["params"], fmt::format("{}.{}: `only_for` names `{}`, which is not an enum parameter of the stage",
                                           s.name, p.name, p.only_for));
        for (const auto& w : p.only_for_values)
          if (std::find(other->type.values.begin(), other->type.values.end(), w) == other->type.values.end())
            rd.fail(d["params"], fmt::format("{}.{}: `only_for` lists `{}`, which `{}` does not hold", s.name, p.name,
                                             w, p.only_for));
      }
      if (d["rules"])
        for (const auto& r : d["rules"]) s.rules.push_back(rd.rule(r, s));
      c.stages_.push_back(std::move(s));
    }
    for (const auto& [alias, target] : c.aliases_)
      if (!c.stage(target))
        throw CatalogError(file_name, 0, fmt::format("alias `{}` names unknown stage `{}`", alias, target));
  } catch (const YAML::Exception& e) {
    throw CatalogError(file_name, e.mark.line + 1, e.msg);
  }
  return c;
}

const CallDef* Catalog::layer(const std::string& name) const {
  for (const auto& l : layers_)
    if (l.name == name) return &l;
  return nullptr;
}

namespace {
constexpr std::pair<StageDef::Role, const char*> kRoleWords[] = {
    {StageDef::Role::Start, "start"},     {StageDef::Role::Train, "train"}, {StageDef::Role::Compress, "compress"},
    {StageDef::Role::Measure, "measure"}, {StageDef::Role::Table, "table"}, {StageDef::Role::Deliver, "deliver"},
};
}  // namespace

const char* role_word(StageDef::Role r) {
  for (const auto& [role, word] : kRoleWords)
    if (role == r) return word;
  return "";
}

StageDef::Role role_of_word(const std::string& word) {
  for (const auto& [role, w] : kRoleWords)
    if (word == w) return role;
  return StageDef::Role::None;
}

const StageDef* Catalog::stage(const std::string& name) const {
  const std::string n = canonical_stage(name);
  for (const auto& s : stages_)
    if (s.name == n) return &s;
  return nullptr;
}

std::string Catalog::canonical_stage(const std::string& name) const {
  for (const auto& [alias, target] : aliases_)
    if (alias == name) return target;
  return name;
}

const Family* Catalog::family(const std::string& name) const {
  for (const auto& f : families_)
    if (f.name == name) return &f;
  return nullptr;
}

std::vector<const CallDef*> Catalog::calls_named(const std::string& name) const {
  std::vector<const CallDef*> out;
  for (const auto& f : families_)
    if (const CallDef* k = f.kind(name)) out.push_back(k);
  return out;
}

std::vector<std::string> Catalog::stage_names() const {
  std::vector<std::string> out;
  for (const auto& s : stages_) out.push_back(s.name);
  for (const auto& a : aliases_) out.push_back(a.first);
  return out;
}

}  // namespace whittle::lang
