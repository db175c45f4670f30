// W0001 milestone_past_end: a learning-rate milestone (or warm-up) that a stage never reaches.
#include <fmt/format.h>

#include "lang/lint/lint.h"

namespace whittle::lang::lint {
namespace {

void run(Context& ctx) {
  for (const StageInstance& s : ctx.recipe.stages) {
    const CheckedParam* sched = s.param("schedule");
    const Val* epochs = s.value("epochs");
    if (!sched || sched->origin != Origin::Given || !epochs || sched->value.kind != Val::Kind::Call) continue;
    const double E = epochs->num;
    if (const Val* at = sched->value.field("at")) {
      for (const Val& m : at->items) {
        if (m.num < E) continue;
        ctx.out.add(Diagnostic::make("W0001", m.span,
                                     fmt::format("milestone {} is at or past the last epoch of this {}-epoch `{}`, so "
                                                 "it never takes effect",
                                                 format_number(m.num), format_number(E), s.written),
                                     "never reached")
                        .with_label(epochs->span, "the stage's length")
                        .with_help("milestones count epochs from the stage's start: drop it, or train for longer"));
      }
    }
    const Val* warmup = sched->value.field("warmup");
    if (warmup && warmup->num >= E && warmup->num > 0) {
      ctx.out.add(Diagnostic::make("W0001", warmup->span,
                                   fmt::format("a {}-epoch warm-up never ends within this {}-epoch `{}`",
                                               format_number(warmup->num), format_number(E), s.written),
                                   "longer than the stage")
                      .with_help("shorten the warm-up"));
    }
  }
}

}  // namespace

extern const Rule milestone_past_end{
    "W0001", "milestone_past_end",
    "A `step(at: [...])` milestone or a warm-up at or past the stage's last epoch never takes effect: the learning "
    "rate you think you scheduled is not the one that runs. Usually a leftover from shortening a stage.",
    run};

}  // namespace whittle::lang::lint
