// W0007 selects_on_test: a choice made on the test set. A sensitivity scan picks each layer's
// sparsity by its accuracy, and a guided prune takes those picks into the model: measured on the
// test split, the test set has chosen part of the model, and its accuracy is no longer an unbiased
// figure. (Calibration reads training batches, and sweep branches are only compared, never chosen
// between, so neither can read the test set today.)
#include <fmt/format.h>

#include "lang/lint/lint.h"

namespace whittle::lang::lint {
namespace {

/// The split a scan measures on: `auto` is the validation split when its `data` holds one out.
bool reads_test(const CheckedRecipe& r, const StageInstance& scan) {
  const Val* split = scan.value("split");
  if (split && split->str == "test") return true;
  if (split && split->str == "validation") return false;
  if (scan.data_in < 0) return false;
  const Val* held = r.stages[static_cast<std::size_t>(scan.data_in)].value("validation");
  return !held || held->num <= 0;
}

void run(Context& ctx) {
  const auto& st = ctx.recipe.stages;
  std::vector<Span> warned;  // one warning per scan as written (a sweep or repeat unrolls it)
  for (const StageInstance& s : st) {
    if (s.kind != "sensitivity" || !reads_test(ctx.recipe, s)) continue;
    bool seen = false;
    for (const Span& w : warned) seen = seen || w == s.name_span;
    if (seen) continue;
    warned.push_back(s.name_span);
    const Val* split = s.value("split");
    const bool asked = split && split->str == "test";
    Diagnostic d =
        Diagnostic::make("W0007", s.name_span, "this scan picks per-layer sparsities by their accuracy on the test set",
                         asked ? "measured on the test split (`split: test`)"
                               : "measured on the test split: `data` holds no validation split out");
    for (const StageInstance& p : st) {
      const Val* guide = p.kind == "prune" ? p.value("guide") : nullptr;
      if (guide && guide->kind == Val::Kind::Result && guide->ref == s.id) {
        d.with_label(p.name_span, "this prune takes those picks into the model");
        break;
      }
    }
    d.with_note("a figure measured on data that chose part of the model overstates its accuracy");
    if (asked)
      d.with_help("measure on a validation split: `split: validation`, with `validation: 10%` in `data`");
    else
      d.with_help(
          "hold out a validation split in `data`, e.g. `data cifar10 validation: 10%`: the scan then measures on it");
    ctx.out.add(std::move(d));
  }
}

}  // namespace

extern const Rule selects_on_test{
    "W0007", "selects_on_test",
    "A sensitivity scan measured on the test split chooses each layer's sparsity by test accuracy, and a guided prune "
    "puts those choices into the model, so the final test accuracy is no longer measured on unseen data. Hold out a "
    "validation split in `data` (`validation: 10%`); a scan then measures on it by default. Silence with "
    "`# whittle: allow(selects_on_test)` where the scan is only a report.",
    run};

}  // namespace whittle::lang::lint
