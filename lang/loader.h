// Loading a recipe and every file it `use`s (relative to the including file, or `std/...` from the
// embedded stdlib), with cycle detection, and collecting the `define`d stages of all of them.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lang/ast.h"
#include "lang/catalog.h"
#include "lang/diagnostic.h"
#include "lang/source.h"

namespace whittle::lang {

struct Module {
  FileId file = 0;
  ast::Recipe recipe;
};

/// A `define`d stage or a `network`: its statement and its parameters as catalog-style definitions.
struct DefineInfo {
  const ast::Stmt* stmt = nullptr;
  std::vector<ParamDef> params;
  std::vector<const ast::Value*> defaults;  ///< per parameter; nullptr when required
};

struct LoadedProgram {
  std::vector<std::unique_ptr<Module>> modules;  ///< the main file first
  std::map<std::string, DefineInfo> defines;
  std::map<std::string, DefineInfo> networks;
  bool syntax_errors = false;
  const Module& main() const { return *modules.front(); }
};

/// Parses `main` (already in `sources`) and every file it uses; problems go to `diags`.
/// `confine_to`: when not empty, a `use` outside this folder is refused (E0106) without being read.
/// `overlay`: texts read instead of the files at these absolute paths (an editor's unsaved buffers).
LoadedProgram load_program(SourceMap& sources, FileId main, const Catalog& catalog, Diagnostics& diags,
                           const std::string& confine_to = "",
                           const std::map<std::string, std::string>* overlay = nullptr);

/// How deep `use`s, `define` calls and `let` chains may nest (E0111): far beyond any recipe written
/// by hand, and far below what would exhaust the stack.
constexpr std::size_t kMaxNesting = 64;

/// Recipe files larger than this are refused (a recipe is text written by hand).
constexpr std::uintmax_t kMaxFileBytes = 16u << 20;

/// The names of the embedded stdlib recipes ("std/rewinding.recipe", ...).
std::vector<std::string> stdlib_recipes();

}  // namespace whittle::lang
