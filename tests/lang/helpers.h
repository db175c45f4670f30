// Test helpers: analyse a recipe held in a string, and list its diagnostic codes.
#pragma once
#include <string>
#include <vector>

#include "lang/analyze.h"

namespace whittle::test {

inline std::unique_ptr<lang::Analysis> run(const std::string& text, const lang::CheckOptions& o = {}) {
  return lang::analyze("test.recipe", text, o);
}

/// "E0102@3" for each error and warning (and note, if `notes`), in order.
inline std::vector<std::string> codes(const lang::Analysis& a, bool notes = false) {
  std::vector<std::string> out;
  for (const auto& d : a.diags.all()) {
    if (d.severity == lang::Severity::Note && !notes) continue;
    out.push_back(d.code + "@" + std::to_string(a.sources.file(d.primary().file).line_of(d.primary().begin)));
  }
  return out;
}

inline const lang::Diagnostic* find(const lang::Analysis& a, const std::string& code) {
  for (const auto& d : a.diags.all())
    if (d.code == code) return &d;
  return nullptr;
}

}  // namespace whittle::test
