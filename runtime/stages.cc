// The runtime's stage registry. Each runner file adds its stage here when it lands.
#include "runtime/stages.h"

namespace whittle::runtime {

const std::set<std::string>& runnable_stages() {
  static const std::set<std::string> stages = {};
  return stages;
}

}  // namespace whittle::runtime
