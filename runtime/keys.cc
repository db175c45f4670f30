// Cache keys.
#include "runtime/keys.h"

#include <fmt/format.h>

#include <algorithm>

#include "runtime/sha256.h"
#include "runtime/stages.h"

namespace whittle::runtime {

// Settings that change where a stage runs or what it reports along the way, never its model: the
// device, the evaluation cadence, the cadence of weight snapshots (a missing snapshot is replayed),
// and where the data's files are (their content is keyed by the data's fingerprint, so the same
// files at another path, on a teammate's or the grader's machine, reuse every entry).
bool param_in_key(const std::string& name) {
  return name != "device" && name != "eval_every" && name != "snapshot_every" && name != "root";
}

// Parameters added to a stage after its first release are keyed only away from their default: at it
// they change nothing, and leaving them out keeps every existing cache entry valid.
bool late_default(const lang::CheckedParam& p, const std::string& kind) {
  return kind == "data" && p.name == "test_subset" && p.value.num == 0;
}

std::string key_text(const lang::StageInstance& s, const std::vector<std::string>& input_keys,
                     const std::string& data_fingerprint) {
  std::string t = fmt::format("whittle-key 1\nkind: {}\nimplementation: {}\nseed: {}\n", s.kind, stage_version(s.kind), s.seed);
  std::vector<const lang::CheckedParam*> params;
  for (const auto& p : s.params)
    if (param_in_key(p.name) && !late_default(p, s.kind)) params.push_back(&p);
  std::sort(params.begin(), params.end(), [](auto* a, auto* b) { return a->name < b->name; });
  for (const auto* p : params) t += fmt::format("param {}: {}\n", p->name, p->value.canonical());
  for (const auto& k : input_keys) t += fmt::format("input: {}\n", k);
  if (!data_fingerprint.empty()) t += fmt::format("data: {}\n", data_fingerprint);
  return t;
}

std::vector<std::string> stage_keys(const lang::StageGraph& g, const std::map<int, std::string>& fingerprints) {
  std::vector<std::string> keys(g.recipe->stages.size());
  for (int id : g.order) {
    std::vector<std::string> inputs;
    for (const auto& [kind, from] : g.inputs(id))
      inputs.push_back(fmt::format("{} {}", lang::edge_kind_name(kind), keys[static_cast<std::size_t>(from)]));
    auto fp = fingerprints.find(id);
    keys[static_cast<std::size_t>(id)] =
        sha256_hex(key_text(g.recipe->stages[static_cast<std::size_t>(id)], inputs, fp == fingerprints.end() ? "" : fp->second));
  }
  return keys;
}

}  // namespace whittle::runtime
