#include "lang/catalog_json.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

namespace whittle::lang {
using nlohmann::json;

namespace {

constexpr int kCompiledFormat = 1;

// JSON has no infinity: an unbounded end of a range is the string "inf" or "-inf".
json bound(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}
double unbound(const json& j) {
  if (j.is_string())
    return j.get<std::string>() == "inf" ? std::numeric_limits<double>::infinity()
                                         : -std::numeric_limits<double>::infinity();
  return j.get<double>();
}

json encode(const Type& t) {
  json j = {{"kind", static_cast<int>(t.kind)}};
  if (!t.values.empty()) j["values"] = t.values;
  if (!t.name.empty()) j["name"] = t.name;
  if (!t.item.empty()) j["item"] = encode(t.item[0]);
  return j;
}
Type decode_type(const json& j) {
  Type t;
  t.kind = static_cast<TypeKind>(j.at("kind").get<int>());
  if (j.contains("values")) t.values = j.at("values").get<std::vector<std::string>>();
  if (j.contains("name")) t.name = j.at("name").get<std::string>();
  if (j.contains("item")) t.item.push_back(decode_type(j.at("item")));
  return t;
}

json encode(const std::vector<ParamDef>& ps) {
  json out = json::array();
  for (const auto& p : ps) {
    json j = {{"name", p.name},
              {"type", encode(p.type)},
              {"default", p.default_text},
              {"has_default", p.has_default},
              {"required", p.required},
              {"inherit", p.inherit},
              {"positional", p.positional},
              {"key", static_cast<int>(p.key)},
              {"doc", p.doc},
              {"line", p.line}};
    if (p.range.present)
      j["range"] = {{"lo", bound(p.range.lo)},
                    {"hi", bound(p.range.hi)},
                    {"lo_open", p.range.lo_open},
                    {"hi_open", p.range.hi_open},
                    {"text", p.range.text}};
    if (!p.only_for.empty()) j["only_for"] = {{"param", p.only_for}, {"values", p.only_for_values}};
    out.push_back(std::move(j));
  }
  return out;
}
std::vector<ParamDef> decode_params(const json& a) {
  std::vector<ParamDef> out;
  for (const auto& j : a) {
    ParamDef p;
    p.name = j.at("name").get<std::string>();
    p.type = decode_type(j.at("type"));
    p.default_text = j.at("default").get<std::string>();
    p.has_default = j.at("has_default").get<bool>();
    p.required = j.at("required").get<bool>();
    p.inherit = j.at("inherit").get<bool>();
    p.positional = j.at("positional").get<bool>();
    p.key = static_cast<KeyPolicy>(j.at("key").get<int>());
    p.doc = j.at("doc").get<std::string>();
    p.line = j.at("line").get<int>();
    if (j.contains("range")) {
      const json& r = j.at("range");
      p.range.present = true;
      p.range.lo = unbound(r.at("lo"));
      p.range.hi = unbound(r.at("hi"));
      p.range.lo_open = r.at("lo_open").get<bool>();
      p.range.hi_open = r.at("hi_open").get<bool>();
      p.range.text = r.at("text").get<std::string>();
    }
    if (j.contains("only_for")) {
      p.only_for = j.at("only_for").at("param").get<std::string>();
      p.only_for_values = j.at("only_for").at("values").get<std::vector<std::string>>();
    }
    out.push_back(std::move(p));
  }
  return out;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;
Pairs decode_pairs(const json& j) { return j.get<Pairs>(); }

}  // namespace

std::string catalog_to_json(const Catalog& c) {
  json fams = json::array();
  for (const auto& f : c.families()) {
    json kinds = json::array();
    for (const auto& k : f.kinds)
      kinds.push_back({{"name", k.name}, {"doc", k.doc}, {"params", encode(k.params)}, {"line", k.line}});
    fams.push_back({{"name", f.name}, {"doc", f.doc}, {"kinds", kinds}});
  }
  json layers = json::array();
  for (const auto& k : c.layers())
    layers.push_back({{"name", k.name}, {"doc", k.doc}, {"params", encode(k.params)}, {"line", k.line}});
  json stages = json::array();
  for (const auto& s : c.stages()) {
    json rules = json::array();
    for (const auto& r : s.rules)
      rules.push_back(
          {{"when", r.when}, {"require", r.require}, {"forbid", r.forbid}, {"message", r.message}, {"line", r.line}});
    stages.push_back({{"name", s.name},
                      {"doc", s.doc},
                      {"needs_model", s.needs_model},
                      {"needs_data", s.needs_data},
                      {"produces", static_cast<int>(s.produces)},
                      {"version", s.version},
                      {"reads_test", s.reads_test},
                      {"role", role_word(s.role)},
                      {"params", encode(s.params)},
                      {"rules", rules},
                      {"line", s.line}});
  }
  const json out = {{"compiled", kCompiledFormat},
                    {"families", fams},
                    {"stages", stages},
                    {"layers", layers},
                    {"aliases", c.aliases()}};
  return out.dump() + "\n";
}

bool is_compiled_catalog(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{' && text.find("\"compiled\"") != std::string_view::npos;
}

CatalogParts catalog_parts_from_json(std::string_view text, const std::string& file_name) {
  CatalogParts parts;
  try {
    const json j = json::parse(text);
    if (j.at("compiled").get<int>() != kCompiledFormat)
      throw CatalogError(file_name, 0, "a compiled catalog of another format: rebuild whittle");
    auto call = [](const json& k, const std::string& family) {
      CallDef cd;
      cd.family = family;
      cd.name = k.at("name").get<std::string>();
      cd.doc = k.at("doc").get<std::string>();
      cd.params = decode_params(k.at("params"));
      cd.line = k.at("line").get<int>();
      return cd;
    };
    for (const auto& f : j.at("families")) {
      Family fam;
      fam.name = f.at("name").get<std::string>();
      fam.doc = f.at("doc").get<std::string>();
      for (const auto& k : f.at("kinds")) fam.kinds.push_back(call(k, fam.name));
      parts.families.push_back(std::move(fam));
    }
    for (const auto& k : j.at("layers")) parts.layers.push_back(call(k, "layer"));
    for (const auto& s : j.at("stages")) {
      StageDef d;
      d.name = s.at("name").get<std::string>();
      d.doc = s.at("doc").get<std::string>();
      d.needs_model = s.at("needs_model").get<bool>();
      d.needs_data = s.at("needs_data").get<bool>();
      d.produces = static_cast<StageDef::Produces>(s.at("produces").get<int>());
      d.version = s.at("version").get<int>();
      d.reads_test = s.value("reads_test", false);
      d.role = role_of_word(s.value("role", std::string()));
      d.params = decode_params(s.at("params"));
      for (const auto& r : s.at("rules")) {
        StageRule rule;
        rule.when = decode_pairs(r.at("when"));
        rule.require = decode_pairs(r.at("require"));
        rule.forbid = decode_pairs(r.at("forbid"));
        rule.message = r.at("message").get<std::string>();
        rule.line = r.at("line").get<int>();
        d.rules.push_back(std::move(rule));
      }
      d.line = s.at("line").get<int>();
      parts.stages.push_back(std::move(d));
    }
    parts.aliases = j.at("aliases").get<Pairs>();
  } catch (const json::exception& e) {
    throw CatalogError(file_name, 0, std::string("not a compiled catalog: ") + e.what());
  }
  return parts;
}

}  // namespace whittle::lang
