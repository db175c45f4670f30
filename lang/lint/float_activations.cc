// N0002 float_activations: weights quantized, activations left in float. course2025 (and course2024)
// count each multiply-accumulate at max(weight bits, activation bits), so with float activations the
// ops term stays at 32 bits, whatever the weights' width: on CIFAR networks it is most of the score,
// and `quantize 8 bits` → `quantize 4 bits` moves the score by a few thousandths. `whittle plan` and
// the editor's hover say the same with the ops share the preview measures.
#include <fmt/format.h>

#include "lang/lint/lint.h"

namespace whittle::lang::lint {

std::string float_activations_help() {
  return "quantize the activations too, e.g. `activations: 8 bits`: the ops term then counts max(weight, activation) "
         "bits";
}

namespace {

/// The preset the recipe's tables score with: its last `score` stage's, else course2025.
std::string recipe_preset(const CheckedRecipe& r) {
  std::string preset = "course2025";
  for (const StageInstance& s : r.stages)
    if (const Val* v = s.kind == "score" ? s.value("version") : nullptr) preset = v->str;
  return preset;
}

void run(Context& ctx) {
  const std::string preset = recipe_preset(ctx.recipe);
  if (preset != "course2025" && preset != "course2024") return;  // the presets whose ops term takes max(q_w, q_a)
  // A quantize whose model is `convert`ed later gets int8 activations there.
  std::vector<bool> converted(ctx.recipe.stages.size(), false);
  for (const StageInstance& s : ctx.recipe.stages)
    if (s.kind == "convert")
      for (int m = s.model_in; m >= 0; m = ctx.recipe.stages[static_cast<std::size_t>(m)].model_in)
        converted[static_cast<std::size_t>(m)] = true;
  std::vector<Span> noted;  // one note per line as written
  for (const StageInstance& s : ctx.recipe.stages) {
    if (converted[static_cast<std::size_t>(s.id)]) continue;
    const Val* bits = s.kind == "quantize" ? s.value("bits") : nullptr;
    const Val* act = s.value("activations");
    const Val* method = s.value("method");
    if (!bits || !act || bits->num >= 32 || act->num < 32 || (method && method->str == "float")) continue;
    bool seen = false;
    for (const Span& n : noted) seen = seen || n == s.name_span;
    if (seen) continue;
    noted.push_back(s.name_span);
    ctx.out.add(
        Diagnostic::make(
            "N0002", s.name_span,
            fmt::format("this quantize leaves the activations at 32 bits: {} counts every multiply-accumulate at "
                        "max(weight bits, activation bits), so the ops term stays at 32 bits and weights at {} shrink "
                        "only the parameter term",
                        preset, bits->canonical()),
            "activations left in float")
            .with_note("`whittle plan` shows how much of the score the ops term is here")
            .with_help(float_activations_help()));
  }
}

}  // namespace

extern const Rule float_activations{
    "N0002", "float_activations",
    "Notes a `quantize` that narrows the weights and leaves the activations at 32 bits, in a recipe scored with "
    "course2025 or "
    "course2024: those count each multiply-accumulate at max(weight bits, activation bits), so the ops term (most of "
    "the score "
    "on CIFAR networks) does not move. `activations: 8 bits` quantizes the activations too.",
    run};

}  // namespace whittle::lang::lint
