// Which catalog stages the runtime can execute. `whittle doc` marks the others, and `whittle run`
// will refuse them with a clear message.
#pragma once
#include <set>
#include <string>

namespace whittle::runtime {

/// The stages this build of the runtime implements. Empty until the runtime lands (issue 3).
const std::set<std::string>& runnable_stages();

}  // namespace whittle::runtime
