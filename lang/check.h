// Checking: resolve names, bind arguments to parameters by unit and enum word, type-check, fill
// defaults, unroll `repeat`/`sweep`/`define` into stage instances, and check the dataflow.
#pragma once
#include <map>
#include <string>

#include "lang/catalog.h"
#include "lang/checked.h"
#include "lang/diagnostic.h"
#include "lang/loader.h"

namespace whittle::lang {

struct CheckOptions {
  /// `--set NAME=VALUE`: replaces the value of a top-level `let NAME` (VALUE in recipe syntax).
  std::map<std::string, std::string> overrides;
  /// A recipe that unrolls into more stage instances than this is refused (E0306).
  std::size_t max_stages = 100000;
  /// When set, a `use` may only name a file inside this folder (a submission being verified: its
  /// recipe must not read the grader's files). Checked before the file is opened.
  std::string confine_to;
  /// Texts that replace files on disk, by absolute path (an editor's unsaved buffers): a `use` of
  /// such a file reads this text instead. Not owned: the language server keeps one map of its open
  /// documents and every analysis looks into it (no copy per analysis).
  const std::map<std::string, std::string>* overlay = nullptr;
};

CheckedRecipe check(const LoadedProgram& program, const Catalog& catalog, SourceMap& sources, Diagnostics& diags,
                    const CheckOptions& options = {});

}  // namespace whittle::lang
