// W0005 no_evaluate: a recipe that trains and compresses but never measures the result.
#include "lang/lint/lint.h"

namespace whittle::lang::lint {
namespace {

void run(Context& ctx) {
  // With errors, a missing `evaluate` is more likely a consequence (a misspelt stage) than an omission.
  if (ctx.recipe.stages.empty() || !ctx.recipe.complete || ctx.out.has_errors()) return;
  for (const StageInstance& s : ctx.recipe.stages)
    if (s.is(StageDef::Role::Measure)) return;
  const auto& stmts = ctx.program.main().recipe.stmts;
  Span at = stmts.front().span;
  for (const ast::Stmt& s : stmts)
    if (s.kind == ast::Stmt::Kind::Recipe) at = s.span;
  ctx.out.add(Diagnostic::make("W0005", at, "this recipe never evaluates its model", "no `evaluate` in this recipe")
                  .with_help("add `evaluate` after the last stage to measure accuracy"));
}

}  // namespace

extern const Rule no_evaluate{
    "W0005", "no_evaluate",
    "A recipe with no `evaluate` produces a model but no accuracy, so nothing tells whether the compression worked. "
    "Add `evaluate` where you want a number.",
    run};

}  // namespace whittle::lang::lint
