// `whittle fmt`: prints a parsed recipe in the one canonical layout. Idempotent; every comment is
// kept (a comment inside a multi-line value moves to its own line above the statement).
#pragma once
#include <string>

#include "lang/ast.h"
#include "lang/source.h"

namespace whittle::lang {

/// The canonical text of a recipe that parsed without errors.
std::string format_recipe(const ast::Recipe& recipe, const SourceFile& file);

/// A value in canonical layout: `[crop(pad: 4), flip]`, `20%`, `120 epochs`.
std::string format_value(const ast::Value& v);

}  // namespace whittle::lang
