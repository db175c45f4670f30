// The checker's `search` (docs/search.md): the `choose` lines make the space, the body is unrolled
// once per candidate (and seed) like a sweep's branch, and a `search` stage instance reads every
// candidate's model and measurement; the executor decides which candidates actually train
// (runtime/exec/search_run.cc, with the strategy of runtime/plan/search_strategy.h).
#include <fmt/format.h>

#include <algorithm>

#include "lang/checker.h"

namespace whittle::lang {
namespace {

constexpr std::size_t kMaxCandidates = 10000;

bool is_share(const std::string& metric) {
  return metric == "accuracy" || metric == "precision" || metric == "recall" || metric == "f1";
}

ast::Arg named(const std::string& name, ast::Value v) {
  ast::Arg a;
  a.named = true;
  a.name = name;
  a.name_span = v.span;
  a.span = v.span;
  a.value = std::move(v);
  return a;
}

ast::Value word(const std::string& text, Span at) {
  ast::Value v;
  v.kind = ast::Value::Kind::Word;
  v.text = text;
  v.span = at;
  return v;
}

}  // namespace

void Checker::search(const ast::Stmt& s, Frame& f) {
  if (in_search_) {
    diags_.add(Diagnostic::make("E0312", s.span, "a `search` inside another `search`", "nested search")
                   .with_help("put every `choose` in one search: its candidates are every combination of them"));
    return;
  }
  std::vector<const ast::Stmt*> chooses, body;
  for (const ast::Stmt& b : s.body) (b.kind == ast::Stmt::Kind::Choose ? chooses : body).push_back(&b);
  const Span head{s.span.file, s.span.begin, s.body_span.begin > s.span.begin ? s.body_span.begin : s.span.end};
  if (chooses.empty()) {
    diags_.add(
        Diagnostic::make("E0309", head, "this `search` has no `choose` line: there is nothing to choose from",
                         "no choice")
            .with_help(
                "declare what may vary at the top of its block, e.g. `choose amount in 50%..90% by 10% monotone`, "
                "and use it as `$amount`"));
    return;
  }

  // The space.
  SearchSpace space;
  space.objective = s.name;
  space.metric = s.metric;
  space.at_most = s.op == "<=";
  std::vector<std::vector<Binding>> values;
  std::size_t count = 1;
  for (const ast::Stmt* c : chooses) {
    auto items = values_of(*c, NameInfo::Kind::Choose);
    if (!items) return;
    if (items->empty()) {
      diags_.add(Diagnostic::make("E0309", c->value.span, fmt::format("`choose {}` has no values", c->name), "empty"));
      return;
    }
    SearchSpace::Dim d;
    d.name = c->name;
    d.monotone = c->flag;
    for (const Binding& b : *items) d.labels.push_back(label_of(b));
    count = std::min(count * items->size(), kMaxCandidates + 1);
    space.dims.push_back(std::move(d));
    values.push_back(std::move(*items));
  }
  if (count > kMaxCandidates) {
    double exact = 1;
    for (const auto& v : values) exact *= static_cast<double>(v.size());
    diags_.add(
        Diagnostic::make("E0311", head,
                         fmt::format("this `search` has {} candidates, more than the {} whittle searches",
                                     format_number(exact), kMaxCandidates),
                         "too many candidates")
            .with_help(
                "choose from fewer values (a coarser `by` in a range), or search in two steps: a coarse search, then "
                "a fine one around its answer"));
    return;
  }

  // The constraint's bar, in the metric's own scale.
  const bool share = is_share(s.metric);
  if (share == space.at_most && (share || s.metric == "loss" || s.metric == "latency")) {
    diags_.add(Diagnostic::make("E0312", s.metric_span,
                                fmt::format("`{} {}` asks for the wrong way round: {} is better {}", s.metric, s.op,
                                            s.metric, share ? "higher" : "lower"),
                                "compared the wrong way")
                   .with_help(fmt::format("write `where {} {} ...`", s.metric, share ? ">=" : "<=")));
    return;
  }
  Type bar_type;
  bar_type.kind = share ? TypeKind::Percent : TypeKind::Float;
  const auto bar_val = coerce(s.value, bar_type);
  if (!bar_val) return;  // reported: `90%` for a share, a plain number (ms, the loss) otherwise
  space.bar = share ? bar_val->num / 100 : bar_val->num;
  if (share && (space.bar < 0 || space.bar > 1)) {
    diags_.add(Diagnostic::make("E0203", s.value.span, fmt::format("{} is a share from 0% to 100%", s.metric),
                                "out of range"));
    return;
  }

  // The named arguments a body's unrolling needs now (checked again as the stage's parameters).
  for (const ast::Arg& a : s.args) {
    if (a.name != "seeds" || a.value.kind != ast::Value::Kind::Number) continue;
    space.seeds = static_cast<int>(std::clamp(a.value.number, 1.0, 100.0));
  }

  // Every candidate's body, once per seed: ordinary stages, `where` "search amount=50% bits=4 bits".
  in_search_ = true;
  const std::size_t n = count;
  for (std::size_t id = 0; id < n && !stopped_; ++id) {
    SearchSpace::Candidate cand;
    cand.choices.resize(space.dims.size());
    std::size_t rest = id;
    for (std::size_t d = space.dims.size(); d-- > 0;) {
      cand.choices[d] = static_cast<int>(rest % values[d].size());
      rest /= values[d].size();
    }
    for (int seed = 0; seed < space.seeds && !stopped_; ++seed) {
      if (!spend(s.span)) break;
      Frame branch = f;
      branch.seed = f.seed + seed;
      scopes_.emplace_back();
      std::string where = "search";
      for (std::size_t d = 0; d < space.dims.size(); ++d) {
        Binding b = values[d][static_cast<std::size_t>(cand.choices[d])];
        where +=
            fmt::format(" {}={}", space.dims[d].name, space.dims[d].labels[static_cast<std::size_t>(cand.choices[d])]);
        bind(space.dims[d].name, chooses[d]->name_span, std::move(b));
      }
      if (space.seeds > 1) where += fmt::format(" seed {}", branch.seed);
      where_.push_back(where);
      SearchSpace::Run run;
      run.begin = static_cast<int>(out_.stages.size());
      for (const ast::Stmt* b : body) {
        if (stopped_) break;
        stmt(*b, branch);
      }
      run.end = static_cast<int>(out_.stages.size());
      run.model = branch.model;
      where_.pop_back();
      scopes_.pop_back();
      for (int i = run.end; i-- > run.begin;)
        if (out_.stages[static_cast<std::size_t>(i)].is(StageDef::Role::Measure)) {
          run.evaluate = i;
          break;
        }
      if (id == 0 && seed == 0 && !search_measures(s, space, run.begin, run.end, run.evaluate)) {
        in_search_ = false;
        return;
      }
      cand.runs.push_back(run);
    }
    space.candidates.push_back(std::move(cand));
  }
  in_search_ = false;
  if (stopped_ || space.candidates.empty() || space.candidates.size() != n) return;
  for (const auto& c : space.candidates)
    for (const auto& r : c.runs)
      if (r.model < 0 || r.evaluate < 0) return;  // reported: no model, or a later candidate's body failed

  // The search stage: its parameters checked like any stage's (the named arguments `budget:` and
  // `seeds:` as written), its model the chosen candidate's.
  ast::Stage st;
  st.name = "search";
  st.name_span = Span{s.span.file, s.span.begin, s.span.begin + 6};
  st.span = head;
  st.args.push_back(named("objective", word(s.name, s.name_span)));
  st.args.push_back(named("metric", word(s.metric, s.metric_span)));
  ast::Value bar;
  bar.kind = ast::Value::Kind::Number;
  bar.number = space.bar;
  bar.text = format_number(space.bar);
  bar.span = s.value.span;
  st.args.push_back(named("bar", bar));
  ast::Value at_most;
  at_most.kind = ast::Value::Kind::Bool;
  at_most.boolean = space.at_most;
  at_most.span = s.metric_span;
  st.args.push_back(named("at_most", at_most));
  for (const ast::Arg& a : s.args) st.args.push_back(a);
  st.as_name = s.as_name;
  st.as_span = s.as_span;
  const StageDef* def = cat_.stage("search");
  if (!def) return;
  Frame sf = f;
  sf.model = space.candidates.front().runs.front().model;
  const std::size_t before = out_.stages.size();
  builtin_stage(*def, st, sf, NetworkUse{});
  if (out_.stages.size() != before + 1) return;
  StageInstance& inst = out_.stages.back();
  if (const Val* b = inst.value("budget")) space.budget = static_cast<int>(b->num);
  if (const Val* k = inst.value("seeds")) space.seeds = static_cast<int>(k->num);
  for (const auto& c : space.candidates)
    for (const auto& r : c.runs) {
      inst.refs_in.push_back(r.model);
      inst.refs_in.push_back(r.evaluate);
    }
  inst.search = std::make_shared<const SearchSpace>(std::move(space));
  f.model = inst.id;
}

bool Checker::search_measures(const ast::Stmt& s, const SearchSpace& space, int begin, int end, int& evaluate) {
  const Span head{s.span.file, s.span.begin, s.body_span.begin > s.span.begin ? s.body_span.begin : s.span.end};
  if (begin == end) return false;  // the body's own errors are reported
  for (int i = begin; i < end; ++i)
    if (out_.stages[static_cast<std::size_t>(i)].is(StageDef::Role::Deliver)) {
      diags_.add(
          Diagnostic::make("E0312", out_.stages[static_cast<std::size_t>(i)].span,
                           "an `export` inside a search: every candidate trained would write the file",
                           "inside the search")
              .with_help(
                  "export the chosen model after the search's `}` (name it with `as` to export it further down)"));
      return false;
    }
  if (evaluate < 0) {
    diags_.add(
        Diagnostic::make("E0310", head,
                         fmt::format("this `search`'s body measures nothing: its {} is never evaluated", space.metric),
                         "no `evaluate` in the body")
            .with_help("end the body with `evaluate split: validation` (and add `validation: 10%` to `data`)"));
    return false;
  }
  const StageInstance& e = out_.stages[static_cast<std::size_t>(evaluate)];
  const Val* split = e.value("split");
  if (split && split->str != "validation") {
    const StageInstance* data = e.data_in >= 0 ? &out_.stages[static_cast<std::size_t>(e.data_in)] : nullptr;
    const Val* held = data ? data->value("validation") : nullptr;
    const bool none_held = !held || held->num <= 0;
    diags_.add(
        Diagnostic::make("E0310", e.span,
                         fmt::format("the search's constraint `{} {} {}` would be measured on the test set",
                                     space.metric, space.at_most ? "<=" : ">=",
                                     sources_.file(s.value.span.file)
                                         .text()
                                         .substr(s.value.span.begin, s.value.span.end - s.value.span.begin)),
                         "evaluates the test split")
            .with_label(head, "the search chooses by it")
            .with_help(
                none_held
                    ? "add `validation: 10%` to `data` and `split: validation` to this `evaluate`: choosing on the "
                      "test set makes its figure a selection, not a measurement"
                    : "add `split: validation` to this `evaluate`: choosing on the test set makes its figure a "
                      "selection, not a measurement")
            .with_note("evaluate the chosen model on the test set after the search's `}`"));
    return false;
  }
  bool measured = false;
  if (space.metric == "latency") {
    const Val* l = e.value("latency");
    measured = l && l->str != "none";
  } else if (const Val* m = e.value("metrics")) {
    for (const Val& item : m->items) measured = measured || item.str == space.metric;
  }
  if (!measured) {
    diags_.add(
        Diagnostic::make("E0312", e.span, fmt::format("the body's last `evaluate` does not measure {}", space.metric),
                         "not measured")
            .with_label(Span{s.metric_span}, "the constraint is on it")
            .with_help(space.metric == "latency" ? "add `latency: cpu` to it"
                                                 : fmt::format("add `metrics: [accuracy, {}]` to it", space.metric)));
    return false;
  }
  return true;
}

}  // namespace whittle::lang
