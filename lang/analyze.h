// The whole front end in one call: parse, load `use`d files, check, lint, apply
// `# whittle: allow(...)`, and sort. What `whittle lint`, `check`, and later `plan`/`run` start from.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "lang/catalog.h"
#include "lang/check.h"
#include "lang/checked.h"
#include "lang/diagnostic.h"
#include "lang/loader.h"
#include "lang/source.h"

namespace whittle::lang {

struct Analysis {
  SourceMap sources;
  FileId main = 0;
  LoadedProgram program;
  CheckedRecipe recipe;
  Diagnostics diags;
  std::map<std::string, std::string> overrides;  ///< the `--set` values it was checked with
  bool ok() const { return !diags.has_errors(); }
};

/// Analyses `text` as the file `name` (relative `use` paths resolve against `name`'s folder).
std::unique_ptr<Analysis> analyze(const std::string& name, std::string text, const CheckOptions& options = {},
                                  const Catalog& catalog = Catalog::builtin());

/// Reads the file and analyses it; a file that cannot be read is an E0106 diagnostic.
std::unique_ptr<Analysis> analyze_file(const std::string& path, const CheckOptions& options = {},
                                       const Catalog& catalog = Catalog::builtin());

/// Removes the warnings and notes that `# whittle: allow(NAME)` comments silence, and reports
/// allow(...) of names that are not lints (W0006).
void apply_allow_directives(const LoadedProgram& program, const SourceMap& sources, Diagnostics& diags);

}  // namespace whittle::lang
