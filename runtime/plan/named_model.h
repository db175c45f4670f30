// The model a name refers to: `as NAME` in a recipe, which `whittle submit --model NAME` and
// `whittle report --model NAME` pick; with no name, the model the recipe ends with.
#pragma once
#include <stdexcept>
#include <string>

#include "runtime/plan/plan.h"

namespace whittle::runtime {

/// A name that names no model of the recipe, or more than one.
struct ModelNameError : std::runtime_error {
  ModelNameError(const std::string& what, std::string help_text = {})
      : std::runtime_error(what), help(std::move(help_text)) {}
  std::string help;
};

/// The stage whose model a run ends with: the model its last stage holds (-1 if none).
int final_model_stage(const Plan& p);

/// The model stage named `as name` (a stage that measures a model names the model it measured), or
/// with no name the model the recipe's last stage holds (-1 if none); ModelNameError when no stage
/// or more than one model has that name.
int named_model(const Plan& p, const std::string& name, const std::string& recipe_file);

}  // namespace whittle::runtime
