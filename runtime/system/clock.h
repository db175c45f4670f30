// The time as whittle writes it in manifests and run records.
#pragma once
#include <string>

namespace whittle::runtime {

/// The current UTC time as `2026-11-22T06:00:00Z`.
std::string now_iso();

}  // namespace whittle::runtime
