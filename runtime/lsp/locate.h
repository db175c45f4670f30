// What is under the cursor in a recipe's syntax tree: for hover, completion and go to definition.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lang/ast.h"

namespace whittle::lsp {

struct Located {
  enum class Kind { Nothing, StageName, ArgName, Word, CallName, Ref, UsePath, Declaration };
  Kind kind = Kind::Nothing;
  const lang::ast::Stage* stage = nullptr;  ///< the stage (or layer) the cursor is in
  const lang::ast::Arg* arg = nullptr;      ///< the argument, when in one
  const lang::ast::Value* value = nullptr;  ///< the word, call, `$name` or `use` path
  const lang::ast::Value* call = nullptr;   ///< the innermost call around the cursor
  const lang::ast::Stmt* stmt = nullptr;    ///< the statement (a `use`, `let`, `define`, `network`)
  bool in_network = false;                  ///< inside a `network` (or a layer block)
};

/// The innermost thing at byte `offset` of the file `file` in `stmts`.
Located locate(const std::vector<lang::ast::Stmt>& stmts, lang::FileId file, std::uint32_t offset);

}  // namespace whittle::lsp
