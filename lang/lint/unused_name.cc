// W0004 unused_name: a `let`, sweep or choose name that nothing refers to. An `as` name is not one: it labels
// its model in the report and names it for `whittle submit --model`.
#include <fmt/format.h>

#include "lang/lint/lint.h"

namespace whittle::lang::lint {
namespace {

void run(Context& ctx) {
  for (const NameInfo& n : ctx.recipe.names) {
    if (n.used) continue;
    switch (n.kind) {
      case NameInfo::Kind::Let:
        ctx.out.add(Diagnostic::make("W0004", n.span, fmt::format("`{}` is defined but never used", n.name), "unused")
                        .with_help(fmt::format("use it as `${}`, or remove the `let`", n.name)));
        break;
      case NameInfo::Kind::As:
        break;  // a label too: the report names the model by it, and `submit --model NAME` picks it
      case NameInfo::Kind::SweepVar:
        ctx.out.add(
            Diagnostic::make("W0004", n.span,
                             fmt::format("the sweep variable `{}` is never used, so every branch is the same", n.name),
                             "unused")
                .with_help(fmt::format("use `${}` inside the sweep", n.name)));
        break;
      case NameInfo::Kind::Choose:
        ctx.out.add(
            Diagnostic::make("W0004", n.span,
                             fmt::format("the choice `{}` is never used, so its candidates are all the same", n.name),
                             "unused")
                .with_help(fmt::format("use `${}` in the search's body, or remove the `choose`", n.name)));
        break;
    }
  }
}

}  // namespace

extern const Rule unused_name{
    "W0004", "unused_name",
    "A `let` or sweep name that is never referred to is usually a typo at the place that meant to use it, or a "
    "leftover. Remove it or use it.",
    run};

}  // namespace whittle::lang::lint
