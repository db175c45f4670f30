// The checker's dataflow: what a retrain takes from the train its model descends from (docs/language.md,
// "Meanings that are fixed"), the catalog's cross-parameter rules, and edges to other stages' outputs.
#include <fmt/format.h>

#include <algorithm>

#include "lang/checker.h"

namespace whittle::lang {

namespace {
void refs_of(const Val& v, std::vector<int>& out) {
  if ((v.kind == Val::Kind::Model || v.kind == Val::Kind::Result) && v.ref >= 0) out.push_back(v.ref);
  for (const auto& i : v.items) refs_of(i, out);
  for (const auto& f : v.fields) refs_of(f.second, out);
}
}  // namespace

void Checker::collect_refs(StageInstance& s) {
  for (const auto& p : s.params) refs_of(p.value, s.refs_in);
}

void Checker::apply_rules(const StageInstance& s) {
  auto holds = [&](const std::string& name, const std::string& text) {
    const Val* v = s.value(name);
    return v && v->canonical() == text;
  };
  auto where = [&](const std::string& name) {
    const CheckedParam* p = s.param(name);
    return p && p->origin == Origin::Given ? p->value.span : s.name_span;
  };
  // A parameter that applies only for some words of another (`width` for the ResNets, not a DenseNet).
  for (const CheckedParam& p : s.params) {
    const ParamDef* d = s.def->param(p.name);
    if (!d || d->only_for.empty() || p.origin != Origin::Given) continue;
    const Val* other = s.value(d->only_for);
    const ParamDef* od = s.def->param(d->only_for);
    if (!other || other->kind != Val::Kind::Enum || !od) continue;
    const auto& words = od->type.values;
    if (std::find(words.begin(), words.end(), other->str) == words.end() || d->applies_for(other->str)) continue;
    std::string does;
    for (const auto& q : s.def->params)
      if (q.only_for == d->only_for && q.applies_for(other->str)) does += (does.empty() ? "`" : ", `") + q.name + "`";
    const std::string shaped =
        does.empty() ? fmt::format("a `{}` takes none", other->str) : fmt::format("a `{}` takes {}", other->str, does);
    diags_.add(Diagnostic::make("E0208", where(p.name), fmt::format("`{}` does not shape a `{}`", d->name, other->str),
                                fmt::format("not a knob of `{}`", other->str))
                   .with_help(fmt::format("remove it ({}; `whittle doc {}` lists them)", shaped, other->str)));
  }
  for (const StageRule& r : s.def->rules) {
    bool active = true;
    for (const auto& [k, v] : r.when) active = active && holds(k, v);
    if (!active) continue;
    for (const auto& [k, v] : r.require) {
      if (!holds(k, v)) {
        diags_.add(Diagnostic::make("E0208", where(k), r.message, fmt::format("`{}` must be {} here", k, v)));
      }
    }
    for (const auto& [k, v] : r.forbid) {
      if (holds(k, v))
        diags_.add(Diagnostic::make("E0208", where(k), r.message,
                                    fmt::format("not with {}", s.value(r.when[0].first)->canonical())));
    }
  }
}

void Checker::retrain_flow(StageInstance& s, const std::vector<BoundArg>& given) {
  const StageInstance* train = s.train >= 0 ? &out_.stages[static_cast<std::size_t>(s.train)] : nullptr;
  const Val* rewind = s.value("rewind");
  const Val* epochs = s.value("epochs");
  const Val* train_epochs = train ? train->value("epochs") : nullptr;
  const bool rewinding = rewind && rewind->kind == Val::Kind::Call;
  const std::string train_label =
      train_epochs ? fmt::format("the train it descends from ({})", train_epochs->canonical()) : "";

  // A train inside a search's candidate, rewound to from after the search: which candidate's train the
  // chain holds is known only when the search has chosen, and the first one's may never run.
  if (train && rewinding && train->where.find("search ") != std::string::npos && s.where.rfind(train->where, 0) != 0) {
    diags_.add(
        Diagnostic::make("E0303", rewind->span,
                         fmt::format("`rewind: {}` after a search would replay a candidate's `train`, and which one is "
                                     "known only when the search has chosen",
                                     rewind->str),
                         "rewinds across a search")
            .with_help("rewind inside the search's body, or fine-tune after it (leave `rewind:` out)"));
    return;
  }
  if (!train) {
    bool own_optimizer = false;
    for (const auto& g : given) own_optimizer = own_optimizer || g.def->name == "optimizer";
    if (rewinding) {
      diags_.add(
          Diagnostic::make("E0303", rewind->span,
                           fmt::format("`rewind: {}` needs a `train` earlier in this model's chain", rewind->str),
                           "nothing to rewind to")
              .with_help("rewinding replays the schedule of the `train` the model came from; put a `train` before "
                         "it (a teacher's `train` does not count)"));
    } else if (!own_optimizer) {
      diags_.add(Diagnostic::make("E0303", s.name_span,
                                  fmt::format("`{}` without `rewind:` fine-tunes at the last learning rate of the "
                                              "model's `train`, and this chain has none",
                                              s.written),
                                  "no train before it")
                     .with_help("put a `train` before it, or give it its own `optimizer: sgd(lr: 0.01)`"));
    }
  }
  for (CheckedParam& p : s.params) {
    if (p.origin != Origin::Inherited) continue;
    const Val* from = train ? train->value(p.name) : nullptr;
    if (from) {
      p.value = *from;
      p.inherited_from = train->id;
    } else {
      p.value = Val{};
      p.origin = Origin::Default;
    }
  }
  if (!train || !rewinding || !epochs || !train_epochs) return;
  const double E = epochs->num, T = train_epochs->num;
  if (rewind->str == "lr" && E > T) {
    diags_.add(
        Diagnostic::make("E0304", epochs->span,
                         fmt::format("`rewind: lr` replays the last {} of the train's schedule, but it has only {}",
                                     epochs->canonical(), train_epochs->canonical()),
                         "more than the train had")
            .with_label(train->name_span, train_label)
            .with_help(fmt::format("retrain for at most {}", train_epochs->canonical())));
  }
  if (rewind->str == "weights") {
    const Val* k = rewind->field("epoch");
    if (!k) return;
    if (k->num > T) {
      diags_.add(
          Diagnostic::make("E0305", k->span,
                           fmt::format("`weights(epoch: {})` rewinds to an epoch the train never reached: it has {}",
                                       format_number(k->num), train_epochs->canonical()),
                           "outside the train")
              .with_label(train->name_span, train_label)
              .with_help(fmt::format("choose an epoch from 0 to {}", format_number(T))));
    } else if (k->num + E > T) {
      diags_.add(
          Diagnostic::make("E0304", epochs->span,
                           fmt::format("rewinding to epoch {} and replaying {} runs past the train's last epoch ({})",
                                       format_number(k->num), epochs->canonical(), format_number(T)),
                           "past the end of the schedule")
              .with_label(train->name_span, train_label)
              .with_help(fmt::format("retrain for at most {} epochs from epoch {}", format_number(T - k->num),
                                     format_number(k->num))));
    }
  }
}

}  // namespace whittle::lang
