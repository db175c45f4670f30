// W0003 extreme_sparsity and N0001 cumulative_sparsity: the sparsity each prune leaves, compounded
// along the model's chain (`prune P%` removes P% of the weights still unpruned).
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "lang/lint/lint.h"

namespace whittle::lang::lint {
namespace {

void run(Context& ctx) {
  const auto& st = ctx.recipe.stages;
  // Kept apart: the prunable weights' density (what `prune P%` counts) and that of all parameters
  // (what `prune P% of: all` counts); which is which of the other depends on the model's sizes.
  std::vector<double> density(st.size(), 1.0), filters(st.size(), 1.0), density_all(st.size(), 1.0);
  std::map<Span, bool> of_all;
  std::map<Span, std::vector<std::pair<double, double>>> per_prune;  // span → (sparsity, filters removed)
  std::map<Span, double> worst;
  std::map<Span, Span> called_from;
  std::map<Span, bool> branched;
  for (const StageInstance& s : st) {
    const std::size_t i = static_cast<std::size_t>(s.id);
    if (s.model_in >= 0) {
      density[i] = density[static_cast<std::size_t>(s.model_in)];
      filters[i] = filters[static_cast<std::size_t>(s.model_in)];
      density_all[i] = density_all[static_cast<std::size_t>(s.model_in)];
    }
    if (s.kind == "train") {
      const Val* sp = s.value("sparsify");
      if (sp && sp->kind == Val::Kind::Call && sp->str == "gradual")
        if (const Val* to = sp->field("to")) density[i] = std::min(density[i], 1.0 - to->num / 100.0);
    }
    if (s.kind != "prune") continue;
    const Val* amount = s.value("amount");
    const Val* structure = s.value("structure");
    if (!amount) continue;
    const double keep = 1.0 - amount->num / 100.0;
    const Val* of = s.value("of");
    const bool all = of && of->str == "all";
    of_all[s.name_span] = all;
    if (structure && structure->str == "structured")
      filters[i] *= keep;
    else if (all)
      density_all[i] *= keep;
    else
      density[i] *= keep;
    // The branches of a sweep or a search give one figure each: the same figure twice is said once.
    const bool branch = s.where.find("sweep ") != std::string::npos || s.where.find("search ") != std::string::npos;
    branched[s.name_span] = branched[s.name_span] || branch;
    const std::pair<double, double> v{1.0 - (all ? density_all[i] : density[i]), 1.0 - filters[i]};
    auto& seen = per_prune[s.name_span];
    if (!branch || std::find(seen.begin(), seen.end(), v) == seen.end()) seen.push_back(v);
    if (!s.call_sites.empty() && !called_from.count(s.name_span)) called_from[s.name_span] = s.call_sites.front();
    worst[s.name_span] = std::max(worst[s.name_span], 1.0 - density[i]);
  }
  for (const auto& [span, values] : per_prune) {
    bool structured = false;
    for (const auto& v : values) structured = structured || v.second > 0;
    std::string list;
    for (std::size_t k = 0; k < values.size(); ++k) {
      if (values.size() > 12 && k == 6) {
        list += fmt::format(", ... ({} values)", values.size());
        k = values.size() - 3;
      }
      list += k ? ", " : "";
      if (!structured)
        list += percent1(values[k].first);
      else if (values[k].first > 0)
        list += fmt::format("{} of filters, {} of weights", percent1(values[k].second), percent1(values[k].first));
      else
        list += fmt::format("{} of filters", percent1(values[k].second));
    }
    const char* what =
        structured ? "cumulative pruning"
        : of_all.at(span)
            ? "cumulative sparsity of all parameters (`of: all`; `whittle plan` shows the prunable weights')"
            : "cumulative sparsity of the prunable weights";
    const std::string msg = values.size() == 1  ? fmt::format("{} after this prune: {}", what, list)
                            : branched.at(span) ? fmt::format("{} after this prune, in its branches: {}", what, list)
                                                : fmt::format("{} after each pass of this prune: {}", what, list);
    Diagnostic note = Diagnostic::make("N0001", span, msg, "sparsity");
    if (called_from.count(span)) note.with_label(called_from[span], "in this use");
    ctx.out.add(std::move(note));
    const double w = worst[span];
    if (w >= 0.99) {
      ctx.out.add(
          Diagnostic::make("W0003", span,
                           fmt::format("cumulative sparsity reaches {} here: only {} of the prunable weights are left",
                                       percent1(w), percent1(1 - w)),
                           "extreme sparsity")
              .with_help("accuracy usually collapses past 99%; prune less per round, or run fewer rounds"));
    }
  }
}

}  // namespace

extern const Rule sparsity{
    "W0003", "extreme_sparsity",
    "Reports (note N0001, cumulative_sparsity) the sparsity of the model after every prune, compounded along its "
    "chain: `repeat 7 { prune 20% }` leaves 0.8^7 = 20.97% of the weights (79.0% sparsity). Warns (W0003) when it "
    "reaches 99% or more, where accuracy almost always collapses.",
    run};

}  // namespace whittle::lang::lint
