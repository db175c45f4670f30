// Which catalog stages the runtime can execute. `whittle doc` marks the others, and `whittle run`
// will refuse them with a clear message.
#pragma once
#include <optional>
#include <set>
#include <string>

#include "lang/checked.h"

namespace whittle::runtime {

/// The stages this build of the runtime implements.
const std::set<std::string>& runnable_stages();

/// The implementation version of a stage: part of its cache key. Bump it when a change to the
/// stage's code changes its results, so that old cache entries are not reused.
int stage_version(const std::string& kind);

}  // namespace whittle::runtime
