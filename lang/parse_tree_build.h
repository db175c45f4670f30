// Internal to lang/: turning PEGTL's parse tree into the AST.
#pragma once
#include <tao/pegtl/contrib/parse_tree.hpp>

#include "lang/ast.h"

namespace whittle::lang {

/// Builds the AST from the root of a parse tree over text that starts at `base`.
ast::Recipe build_ast(const tao::pegtl::parse_tree::node& root, FileId file, const char* base);

/// Builds one value from a value-like node (value, let_value, ...).
ast::Value build_value(const tao::pegtl::parse_tree::node& n, FileId file, const char* base);

/// The comments of a file, found by a lexical scan that knows about strings.
std::vector<ast::Comment> scan_comments(const std::string& text, FileId file);

}  // namespace whittle::lang
