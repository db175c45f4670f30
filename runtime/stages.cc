// The runtime's stage registry. Each runner file adds its stage here when it lands.
#include "runtime/stages.h"

#include <map>

namespace whittle::runtime {

const std::set<std::string>& runnable_stages() {
  static const std::set<std::string> stages = {"data", "model", "train", "retrain", "prune", "sensitivity", "quantize", "convert", "evaluate", "score", "export"};
  return stages;
}

int stage_version(const std::string& kind) {
  static const std::map<std::string, int> versions = {{"data", 1},  {"model", 3}, {"train", 3},
                                                      {"retrain", 3}, {"prune", 2}, {"evaluate", 3},
                                                      {"sensitivity", 2}, {"quantize", 1}, {"convert", 1}, {"score", 1}, {"export", 1}};
  auto it = versions.find(kind);
  return it == versions.end() ? 0 : it->second;
}

}  // namespace whittle::runtime
