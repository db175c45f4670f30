// The runtime's stage registry. Each runner file adds its stage here when it lands.
#include "runtime/stages.h"

#include <map>

namespace whittle::runtime {

const std::set<std::string>& runnable_stages() {
  static const std::set<std::string> stages = {"data", "model", "train", "retrain", "prune", "quantize", "convert", "evaluate", "score", "export"};
  return stages;
}

int stage_version(const std::string& kind) {
  static const std::map<std::string, int> versions = {{"data", 1},  {"model", 3}, {"train", 3},
                                                      {"retrain", 3}, {"prune", 2}, {"evaluate", 3},
                                                      {"quantize", 1}, {"convert", 1}, {"score", 1}, {"export", 1}};
  auto it = versions.find(kind);
  return it == versions.end() ? 0 : it->second;
}

}  // namespace whittle::runtime

namespace whittle::runtime {

std::optional<std::string> unsupported_option(const lang::StageInstance& s) {
  auto word = [&](const char* p) { return s.value(p) ? s.value(p)->str : std::string(); };
  if (s.kind == "prune") {
    if (word("criterion") == "thinet") return "ThiNet";
    if (s.value("guide")->kind != lang::Val::Kind::None) return "sensitivity-guided pruning (`guide:`)";
  }
  return std::nullopt;
}

}  // namespace whittle::runtime
