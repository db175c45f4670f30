// Cache keys.
#include "runtime/plan/keys.h"

#include <fmt/format.h>

#include <algorithm>

#include "lang/network.h"
#include "runtime/plan/stages.h"
#include "runtime/system/sha256.h"

namespace whittle::runtime {

// Which parameters are keyed is data: `key:` in stdlib/stages.yaml. Left out: what changes where a
// stage runs or what it reports along the way, never its model (the device, the evaluation and
// snapshot cadences, where the data's files are: their content is keyed by the data's fingerprint,
// so the same files at another path reuse every entry). Keyed only away from the default: the
// parameters added after a stage's first release, so that every existing cache entry stays valid.
bool param_in_key(const lang::StageInstance& s, const lang::CheckedParam& p) {
  const lang::ParamDef* d = s.def ? s.def->param(p.name) : nullptr;
  if (!d) return true;
  switch (d->key) {
    case lang::KeyPolicy::Never:
    case lang::KeyPolicy::TestSplit:
      return false;  // keyed by the stages that read the test split instead
    case lang::KeyPolicy::UnlessDefault:
      return p.value.canonical() != d->default_text;
    case lang::KeyPolicy::Always:
      break;
  }
  return true;
}

std::string test_view(const lang::StageInstance& s, const std::vector<lang::StageInstance>& stages) {
  if (!s.def || !s.def->reads_test || s.data_in < 0) return "";
  const lang::StageInstance& data = stages.at(static_cast<std::size_t>(s.data_in));
  std::string t;
  for (const auto& p : data.params) {
    const lang::ParamDef* d = data.def ? data.def->param(p.name) : nullptr;
    if (d && d->key == lang::KeyPolicy::TestSplit && p.value.canonical() != d->default_text)
      t += fmt::format("test {}: {}\n", p.name, p.value.canonical());
  }
  return t;
}

std::string key_text(const lang::StageInstance& s, const std::vector<std::string>& input_keys,
                     const std::string& data_fingerprint, const std::string& test) {
  std::string t =
      fmt::format("whittle-key 1\nkind: {}\nimplementation: {}\nseed: {}\n", s.kind, stage_version(s.kind), s.seed);
  std::vector<const lang::CheckedParam*> params;
  for (const auto& p : s.params)
    if (param_in_key(s, p)) params.push_back(&p);
  std::sort(params.begin(), params.end(), [](auto* a, auto* b) { return a->name < b->name; });
  for (const auto* p : params) t += fmt::format("param {}: {}\n", p->name, p->value.canonical());
  if (s.network) t += fmt::format("network: {}\n", s.network->canonical());
  if (!s.file.empty()) t += fmt::format("file: {}\n", sha256_file(s.file).value_or("unreadable"));
  for (const auto& k : input_keys) t += fmt::format("input: {}\n", k);
  if (!data_fingerprint.empty()) t += fmt::format("data: {}\n", data_fingerprint);
  return t + test;
}

std::vector<std::string> stage_keys(const lang::StageGraph& g, const std::map<int, std::string>& fingerprints) {
  std::vector<std::string> keys(g.recipe->stages.size());
  for (int id : g.order) {
    std::vector<std::string> inputs;
    for (const auto& [kind, from] : g.inputs(id))
      inputs.push_back(fmt::format("{} {}", lang::edge_kind_name(kind), keys[static_cast<std::size_t>(from)]));
    auto fp = fingerprints.find(id);
    const lang::StageInstance& s = g.recipe->stages[static_cast<std::size_t>(id)];
    keys[static_cast<std::size_t>(id)] =
        sha256_hex(key_text(s, inputs, fp == fingerprints.end() ? "" : fp->second, test_view(s, g.recipe->stages)));
  }
  return keys;
}

}  // namespace whittle::runtime
