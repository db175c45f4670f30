// Cache keys (docs/architecture.md decision 5): SHA-256 over everything that can change a stage's output
// — its kind, the runtime's implementation version of it, its canonical parameters (defaults filled,
// units normalised, sorted by name), the keys of its inputs, the data set's fingerprint and the seed.
// Never the recipe text, comments, layout, file name or line numbers. `device` is left out on
// purpose: results differ there only by floating-point noise (the run record keeps it).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "lang/graph.h"

namespace whittle::runtime {

/// The text that is hashed, for `--explain` and tests: one `name: value` line each; `test` is
/// test_view() of the stage.
std::string key_text(const lang::StageInstance& s, const std::vector<std::string>& input_keys,
                     const std::string& data_fingerprint, const std::string& test = "");

/// For a stage that reads the test split (`reads_test` in the catalog): its data's parameters of
/// policy TestSplit away from their defaults (`test test_subset: 1000`), one line each; else "".
std::string test_view(const lang::StageInstance& s, const std::vector<lang::StageInstance>& stages);

/// Keys for every stage of the graph, in stage order. `fingerprints` maps a data stage's id to its
/// data fingerprint.
std::vector<std::string> stage_keys(const lang::StageGraph& g, const std::map<int, std::string>& fingerprints);

/// Whether a parameter of a stage is part of its key: its `key:` in the catalog.
bool param_in_key(const lang::StageInstance& stage, const lang::CheckedParam& param);

}  // namespace whittle::runtime
