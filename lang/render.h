// Renderings of diagnostics: full (compiler-style, with a caret snippet), concise (one line), JSON.
#pragma once
#include <string>
#include <vector>

#include "lang/diagnostic.h"
#include "lang/source.h"

namespace whittle::lang {

std::string render_full(const Diagnostic& d, const SourceMap& sources);
std::string render_concise(const Diagnostic& d, const SourceMap& sources);
/// A JSON array of objects with code, name, severity, file, line, column, end_line, end_column,
/// message, help (null when none), notes and labels. Lines and columns are 1-based.
std::string render_json(const std::vector<Diagnostic>& ds, const SourceMap& sources);

}  // namespace whittle::lang
