// The model a name refers to (named_model.h).
#include "runtime/plan/named_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace whittle::runtime {

int final_model_stage(const Plan& p) {
  const lang::StageInstance& last = p.stage(p.steps.back().stage);
  return last.produces_model() ? last.id : last.model_in;
}

int named_model(const Plan& p, const std::string& name, const std::string& recipe_file) {
  if (name.empty()) return final_model_stage(p);
  std::vector<int> found;
  std::vector<std::string> names;
  for (const auto& step : p.steps) {
    const lang::StageInstance& s = p.stage(step.stage);
    if (s.as_name.empty()) continue;
    names.push_back(s.as_name);
    if (s.as_name == name) found.push_back(s.produces_model() ? s.id : s.model_in);
  }
  if (found.empty())
    throw ModelNameError(fmt::format("{} names no stage `{}`", recipe_file, name),
                         names.empty()
                             ? "name the model's stage with `as NAME` in the recipe, run it, and submit --model NAME"
                             : fmt::format("its names: {}", fmt::join(names, ", ")));
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  if (found.size() > 1 || found[0] < 0) {
    std::vector<std::string> where;
    for (int id : found)
      where.push_back(id < 0 ? "no model"
                             : stage_name(p, id) + (p.stage(id).where.empty() ? "" : " [" + p.stage(id).where + "]"));
    throw ModelNameError(
        fmt::format("`{}` names {} models in {}: {}", name, found.size(), recipe_file, fmt::join(where, "; ")),
        "a submission is one model: give the one to submit a name of its own, or pick a sweep's branch with --set");
  }
  return found[0];
}

}  // namespace whittle::runtime
