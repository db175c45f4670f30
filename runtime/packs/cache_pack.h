// A cache pack: cache entries carried to another machine (`whittle cache pack` / `unpack`), so that a
// long pipeline goes on where it stopped: the next GPU session, a cluster, a classmate's laptop.
//
// One tar archive (zstd), holding, in this order:
//   whittle-pack.yaml          what is in it: each entry's key, label and files (size, SHA-256), sealed
//   objects/<key>/<file>       finished entries, their manifest.yaml included
//   partial/<key>/<file>       epoch checkpoints of stages not finished (a stage resumes from them)
//   runs/<name>.yaml           the recipe's run record
// Unpacking checks every archive entry against the pack's list before it writes a byte of it, streams
// it into the cache's tmp/, hashing as it goes, and puts an entry in place (by rename) only when all
// its files arrived and match: a damaged or cut pack refuses, by name, the entries it damaged and
// adds the others; entries already in the cache are skipped. Checksums find damage, not forgery:
// a pack is as trustworthy as whoever made it (docs/caching.md, "Carrying a cache to another machine").
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "runtime/cache/store.h"
#include "runtime/packs/cache_pack_format.h"
#include "runtime/plan/plan.h"

namespace whittle::runtime {

/// What a pack of a plan holds, as found in the store.
struct PackContents {
  struct Item {
    std::string key, label;
    bool partial = false;  ///< epoch checkpoints, not a finished entry
  };
  std::string recipe;
  std::vector<Item> items;           ///< in execution order, each key once
  std::vector<std::string> missing;  ///< stages with neither an entry nor checkpoints
  std::vector<std::string> corrupt;  ///< stages whose entry fails verification, with why (left out)
  std::string record;                ///< the run record's path, when there is one
};

/// The stages of `p` (all of them, or those in `stages` and every stage they need) against `store`.
/// Finished entries are verified here, so that a pack never carries a damaged one.
PackContents pack_contents(const Plan& p, const ArtifactStore& store, const std::vector<int>& stages);

struct PackStats {
  std::size_t entries = 0, partials = 0;
  std::uint64_t bytes = 0;        ///< of the files packed, before compression
  std::vector<std::string> busy;  ///< checkpoints left out: a run is writing them now
};

/// Writes the pack to `out` atomically. Throws PackError, or WriteError (runtime/system/atomic_file.h).
PackStats write_pack(ArtifactStore& store, const PackContents& c, const std::string& out);

struct UnpackOutcome {
  std::string recipe, created, whittle_version;              ///< from the pack's list
  std::vector<std::string> installed, present;               ///< labels of entries
  std::vector<std::string> partials;                         ///< labels of stages whose checkpoints were put in place
  std::vector<std::pair<std::string, std::string>> skipped;  ///< checkpoints not put in place, and why
  std::vector<std::pair<std::string, std::string>> refused;  ///< damaged or missing: label, why
  std::string record;  ///< what became of the run record ("" when the pack had none)
};

/// Reads the pack `file` into `store`. Throws PackError when it is no pack of this whittle.
UnpackOutcome read_pack(ArtifactStore& store, const std::string& file);

}  // namespace whittle::runtime
