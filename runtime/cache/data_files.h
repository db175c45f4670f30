// Where a `data` stage's files are, and their fingerprint: what a data set contributes to every
// cache key downstream. Hashing a data set is done once and remembered by path, size and mtime.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "lang/checked.h"

namespace whittle::runtime {

struct DataFiles {
  std::string dataset;             ///< cifar10, fashion_mnist, synthetic
  std::string root;                ///< the folder used
  std::vector<std::string> files;  ///< full paths, in a fixed order (empty for synthetic)
};

/// Resolves a data stage's files: its `root:`, else $WHITTLE_DATA, else the data set's usual place.
/// On failure, `error` says what is missing and where whittle looked.
/// `elsewhere`, when given, is where this machine keeps the data instead of the stage's `root:`
/// (`whittle verify --data`): searched as $WHITTLE_DATA is; the stage's key does not change.
/// `use_root` false: the stage's `root:` is never looked at (a submission's recipe names no folder of
/// the grader's machine; verify uses the grader's data only).
std::optional<DataFiles> locate_data(const lang::StageInstance& data_stage, std::string& error,
                                     const std::string& elsewhere = "", bool use_root = true);

/// SHA-256 over the data set's name and its files' contents. `memo` is a TSV file remembering
/// per-file hashes by path, size and modification time, so each file is read once. A file that
/// cannot be read is never fingerprinted: nullopt, and `error` names it and says why.
std::optional<std::string> data_fingerprint(const DataFiles& files, const std::string& memo_path, std::string& error);

}  // namespace whittle::runtime
