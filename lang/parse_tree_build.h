// Internal to lang/: turning PEGTL's parse tree into the AST.
#pragma once
#include <tao/pegtl/contrib/parse_tree.hpp>

#include "lang/ast.h"

namespace whittle::lang {

/// A parse-tree node. PEGTL's parse tree creates a node for every attempt of a rule that has
/// selected rules below it, so nodes come from a per-thread free list rather than malloc.
struct ParseNode : tao::pegtl::parse_tree::basic_node<ParseNode> {
  static void* operator new(std::size_t size);
  static void operator delete(void* p, std::size_t size) noexcept;
};

/// Builds the AST from the root of a parse tree over text that starts at `base`.
ast::Recipe build_ast(const ParseNode& root, FileId file, const char* base);

/// Builds one value from a value-like node (value, let_value, ...).
ast::Value build_value(const ParseNode& n, FileId file, const char* base);

/// The comments of a file, found by a lexical scan that knows about strings.
std::vector<ast::Comment> scan_comments(const std::string& text, FileId file);

}  // namespace whittle::lang
