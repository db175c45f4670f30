// W0002 prune_without_retrain: a pruned model that is evaluated, scored or exported (or ends the
// recipe) without any retraining in between.
#include <fmt/format.h>

#include "lang/lint/lint.h"

namespace whittle::lang::lint {
namespace {

constexpr int kNone = -2;
constexpr int kEnd = -1;

bool retrains(const StageInstance& s) { return s.is(StageDef::Role::Train); }

void run(Context& ctx) {
  const auto& st = ctx.recipe.stages;
  // first_use[i]: for the model stage i produces, the first stage that uses it before any retraining
  // (kEnd: the recipe ends with it; kNone: every path retrains). Consumers come after producers.
  std::vector<int> first_use(st.size(), kNone);
  for (std::size_t i = st.size(); i-- > 0;) {
    if (!st[i].produces_model() || retrains(st[i])) continue;
    bool continues = false;
    int found = kNone;
    for (int c : ctx.consumers[i]) {
      const StageInstance& cs = st[static_cast<std::size_t>(c)];
      if (retrains(cs)) {
        continues = true;
        continue;
      }
      if (found != kNone) continue;
      if (!cs.produces_model()) {
        found = c;
      } else {
        continues = true;
        if (first_use[static_cast<std::size_t>(c)] != kNone) found = first_use[static_cast<std::size_t>(c)];
      }
    }
    first_use[i] = found != kNone ? found : continues ? kNone : kEnd;
  }
  for (const StageInstance& s : st) {
    if (s.kind != "prune") continue;
    const int use = first_use[static_cast<std::size_t>(s.id)];
    if (use == kNone) continue;
    Diagnostic d =
        use == kEnd ? Diagnostic::make("W0002", s.name_span, "the model pruned here is never retrained", "pruned here")
                    : Diagnostic::make("W0002", s.name_span,
                                       fmt::format("the model pruned here reaches `{}` without retraining",
                                                   st[static_cast<std::size_t>(use)].written),
                                       "pruned here");
    if (use >= 0) d.with_label(st[static_cast<std::size_t>(use)].name_span, "used here before any retraining");
    if (!s.call_sites.empty()) d.with_label(s.call_sites.front(), "in this use");
    d.with_help(
        "add `retrain N epochs rewind: lr` after the prune; for a deliberate no-retrain sweep, add "
        "`# whittle: allow(prune_without_retrain)`");
    ctx.out.add(std::move(d));
  }
}

}  // namespace

extern const Rule prune_without_retrain{
    "W0002", "prune_without_retrain",
    "Pruning without retraining loses accuracy that a few epochs of retraining would recover, so a prune that reaches "
    "`evaluate`, `score`, `export` or the end of the recipe without a `retrain` or `train` is usually a mistake. "
    "A deliberate sweep of one-shot pruning ratios silences it with `# whittle: allow(prune_without_retrain)` on the "
    "sweep's line or the line before it.",
    run};

}  // namespace whittle::lang::lint
