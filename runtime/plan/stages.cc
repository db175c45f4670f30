// What the runtime runs, read from the catalog: a stage with an implementation `version` in
// stdlib/stages.yaml is one the runtime implements (docs/architecture.md, "Adding a stage").
#include "runtime/plan/stages.h"

#include "lang/catalog.h"

namespace whittle::runtime {

const std::set<std::string>& runnable_stages() {
  static const std::set<std::string> stages = [] {
    std::set<std::string> out;
    for (const auto& s : lang::Catalog::builtin().stages())
      if (s.version > 0) out.insert(s.name);
    return out;
  }();
  return stages;
}

int stage_version(const std::string& kind) {
  const lang::StageDef* s = lang::Catalog::builtin().stage(kind);
  return s ? s->version : 0;
}

}  // namespace whittle::runtime
