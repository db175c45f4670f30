// The lint registry and driver.
#include "lang/lint/lint.h"

#include <fmt/format.h>

namespace whittle::lang::lint {

extern const Rule milestone_past_end;
extern const Rule prune_without_retrain;
extern const Rule sparsity;
extern const Rule unused_name;
extern const Rule no_evaluate;
extern const Rule selects_on_test;
extern const Rule data_not_at_root;
extern const Rule float_activations;

const std::vector<Rule>& rules() {
  static const std::vector<Rule> all = {milestone_past_end, prune_without_retrain, sparsity,         unused_name,
                                        no_evaluate,        selects_on_test,       data_not_at_root, float_activations};
  return all;
}

void run_all(const LoadedProgram& program, const CheckedRecipe& recipe, const SourceMap& sources, Diagnostics& out) {
  Context ctx{program, recipe, sources, out, {}};
  ctx.consumers.resize(recipe.stages.size());
  for (const StageInstance& s : recipe.stages)
    if (s.model_in >= 0) ctx.consumers[static_cast<std::size_t>(s.model_in)].push_back(s.id);
  for (const Rule& r : rules()) r.run(ctx);
}

std::string percent1(double fraction) { return fmt::format("{:.1f}%", fraction * 100.0); }

}  // namespace whittle::lang::lint
