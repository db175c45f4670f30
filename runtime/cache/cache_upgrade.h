// `whittle cache upgrade`: a cache of the previous format (2, whose checkpoints are LibTorch
// archives) converted in place into this one (3, safetensors: runtime/system/safetensors.h), every entry
// and every unfinished stage's epoch checkpoints kept under the same keys.
//
// Safe to kill at any moment and to run again: each entry is converted into tmp/ and exchanged with
// the old one in one rename (renameat2 RENAME_EXCHANGE), an entry already converted is skipped, and
// VERSION says 3 only after every entry was converted. A damaged entry is moved to corrupt/ (it would
// have been recomputed anyway). It holds the cache's lock exclusively: no run uses the cache meanwhile.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace whittle::runtime {

struct UpgradeOutcome {
  bool already = false;  ///< the cache was of this format: nothing to do
  std::size_t entries = 0, converted = 0, partial = 0;
  std::vector<std::string> quarantined;  ///< "LABEL: WHY" of the damaged entries moved to corrupt/
};

/// Converts the file at `from` (a checkpoint of the old format) into `to`; throws saying why not.
using ConvertFile = std::function<void(const std::string& from, const std::string& to)>;

/// Upgrades the cache at `root`. Throws StoreError when it is no cache of either format, a run is
/// using it, or a file cannot be written (the cache is then as correct as before: run it again).
UpgradeOutcome upgrade_cache(const std::string& root, const ConvertFile& convert);

}  // namespace whittle::runtime
