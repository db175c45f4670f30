// Lint rules: each reads the checked recipe and only adds diagnostics. One file per rule; each
// rule's doc is printed by `whittle explain CODE` and listed in docs/diagnostics.md.
#pragma once
#include <string>
#include <vector>

#include "lang/checked.h"
#include "lang/diagnostic.h"
#include "lang/loader.h"

namespace whittle::lang::lint {

struct Context {
  const LoadedProgram& program;
  const CheckedRecipe& recipe;
  const SourceMap& sources;
  Diagnostics& out;
  /// consumers[i]: the stages whose model input is stage i, in order.
  std::vector<std::vector<int>> consumers;
};

struct Rule {
  const char* code;
  const char* name;
  const char* doc;  ///< what it finds, why it matters, how to silence it
  void (*run)(Context&);
};

const std::vector<Rule>& rules();
void run_all(const LoadedProgram& program, const CheckedRecipe& recipe, const SourceMap& sources, Diagnostics& out);

/// N0002's fix, which `whittle plan` and the editor's hover give with the ops share they measure.
std::string float_activations_help();

/// A percentage with one decimal: 79.0%.
std::string percent1(double fraction);

}  // namespace whittle::lang::lint
