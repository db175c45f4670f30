// The index of diagnostic codes: E0xxx errors, W0xxx lint warnings, N0xxx notes, R0xxx runtime problems.
// Every code has a snake_case name (used by `# whittle: allow(NAME)`) and a summary; docs/diagnostics.md lists them.
#pragma once
#include <string>
#include <vector>

#include "lang/diagnostic.h"

namespace whittle::lang {

struct CodeInfo {
  const char* code;
  const char* name;
  Severity severity;
  const char* summary;
};

const std::vector<CodeInfo>& all_codes();
/// Looks a code up by code ("W0002") or by name ("prune_without_retrain"); nullptr if unknown.
const CodeInfo* find_code(const std::string& code_or_name);

}  // namespace whittle::lang
