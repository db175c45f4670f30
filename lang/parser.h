// Parsing: recipe text → ast::Recipe, with every syntax error reported and parsing resumed at the
// next statement, so that one run shows all the problems of a file.
#pragma once
#include <optional>

#include "lang/ast.h"
#include "lang/diagnostic.h"
#include "lang/source.h"

namespace whittle::lang {

/// Parses one file of `sources`. Syntax errors go to `diags`; the statements that parsed are returned.
ast::Recipe parse(const SourceMap& sources, FileId file, Diagnostics& diags);

/// Parses a file that holds one value (a `--set` value, a catalog default). Errors go to `diags`.
std::optional<ast::Value> parse_value(const SourceMap& sources, FileId file, Diagnostics& diags);

}  // namespace whittle::lang
