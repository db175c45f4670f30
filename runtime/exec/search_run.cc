// Deciding a search (search_run.h).
#include "runtime/exec/search_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <numeric>

#include "runtime/plan/params.h"
#include "runtime/plan/search_strategy.h"

namespace whittle::runtime {
using nlohmann::json;

std::set<int> search_candidate_stages(const Plan& plan) {
  std::set<int> out;
  for (const lang::StageInstance& s : plan.analysis->recipe.stages)
    if (s.search)
      for (const auto& c : s.search->candidates)
        for (const auto& r : c.runs)
          for (int id = r.begin; id < r.end; ++id) out.insert(id);
  return out;
}

std::string objective_metric(const std::string& objective) {
  if (objective == "params") return "nonzero";
  if (objective == "macs") return "macs";
  if (objective == "size") return "size_mib";
  return score_key(objective);
}

std::string constraint_metric(const std::string& metric) { return metric == "latency" ? "latency_ms" : metric; }

namespace {

std::string shown(const std::string& key, double v) { return format_metric(Metrics{{key, v}}, key); }

/// "search #40 lowest course2025 where accuracy >= 90%".
std::string headline(const lang::StageInstance& s) {
  const lang::SearchSpace& sp = *s.search;
  return fmt::format("search #{} lowest {} where {} {} {}", s.id, sp.objective, sp.metric,
                     sp.at_most ? "<=" : ">=", shown(constraint_metric(sp.metric), sp.bar));
}

search::Strategy strategy_of(const Plan& plan, const lang::StageInstance& s) {
  const lang::SearchSpace& sp = *s.search;
  auto pv = plan.search_objectives.find(s.id);
  if (pv == plan.search_objectives.end() || pv->second.size() != sp.candidates.size())
    throw StageError(
        fmt::format("the {} of the search's candidates could not be previewed, and the search orders them by it",
                    sp.objective),
        "`whittle plan` shows each stage's preview and why one is missing");
  std::vector<search::Dimension> dims;
  for (const auto& d : sp.dims) dims.push_back({d.name, static_cast<int>(d.labels.size()), d.monotone});
  std::vector<double> objectives;
  std::vector<bool> estimated;
  for (const auto& [o, e] : pv->second) {
    objectives.push_back(o);
    estimated.push_back(e);
  }
  return search::Strategy(std::move(dims), std::move(objectives), std::move(estimated), sp.budget);
}

}  // namespace

std::optional<json> decide_search(const Plan& plan, const lang::StageInstance& s, const TrainCandidates& train,
                                  Progress& progress, int jobs) {
  const lang::SearchSpace& sp = *s.search;
  search::Strategy st = strategy_of(plan, s);
  const std::string okey = objective_metric(sp.objective), mkey = constraint_metric(sp.metric);
  const auto& previews = plan.search_objectives.at(s.id);
  int round = 0;
  while (!st.done()) {
    const std::vector<int> ids = st.next(std::max(1, jobs));
    if (ids.empty()) break;
    for (int id : ids)
      progress.message(fmt::format("{}: candidate {} ({} of at most {}): {}, previewed {} {}{}", headline(s), id,
                                   ++round, st.most_trainings(), sp.label(static_cast<std::size_t>(id)), sp.objective,
                                   previews[static_cast<std::size_t>(id)].second ? "~" : "",
                                   shown(okey, previews[static_cast<std::size_t>(id)].first)));
    const auto measured = train(ids);
    if (!measured) return std::nullopt;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const int id = ids[i];
      search::Outcome o;
      o.passed = true;
      o.metric = sp.at_most ? -1e300 : 1e300;
      o.objective = previews[static_cast<std::size_t>(id)].first;
      for (std::size_t k = 0; k < (*measured)[i].size(); ++k) {
        const Metrics& m = (*measured)[i][k];
        auto v = m.find(mkey);
        if (v == m.end())
          throw StageError(fmt::format("candidate {} ({}): its `evaluate` measured no {}", id,
                                       sp.label(static_cast<std::size_t>(id)), sp.metric));
        o.passed = o.passed && (sp.at_most ? v->second <= sp.bar : v->second >= sp.bar);
        o.metric = sp.at_most ? std::max(o.metric, v->second) : std::min(o.metric, v->second);
        if (k == 0 && m.count(okey)) o.objective = m.at(okey);
      }
      st.record(id, o);
      progress.message(fmt::format("  candidate {}: {} {} ({}), {} {}", id, sp.metric, shown(mkey, o.metric),
                                   o.passed ? "passes" : "fails", sp.objective, shown(okey, o.objective)));
    }
  }
  const auto chosen = st.chosen();
  json d;
  d["search"] = s.id;
  d["objective"] = sp.objective;
  d["metric"] = sp.metric;
  d["at_most"] = sp.at_most;
  d["bar"] = sp.bar;
  d["budget"] = sp.budget;
  d["seeds"] = sp.seeds;
  d["candidates"] = sp.candidates.size();
  d["trainings"] = st.trainings();
  d["most_trainings"] = st.most_trainings();
  d["chosen"] = chosen ? json(*chosen) : json(nullptr);
  d["chosen_label"] = chosen ? sp.label(static_cast<std::size_t>(*chosen)) : "";
  d["judged_by_estimates"] = st.judged_by_estimates();
  d["untried"] = st.untried();
  d["least_untried_objective"] = st.least_untried_objective() ? json(*st.least_untried_objective()) : json(nullptr);
  json broken = json::array();
  for (const auto& [pass, fail] : st.broken_promises()) broken.push_back({pass, fail});
  d["broken_promises"] = broken;
  json dims = json::array();
  for (const auto& dim : sp.dims)
    dims.push_back({{"name", dim.name}, {"values", dim.labels}, {"monotone", dim.monotone}});
  d["dims"] = dims;
  json rows = json::array();
  for (std::size_t i = 0; i < sp.candidates.size(); ++i) {
    const search::CandidateState& cs = st.state(static_cast<int>(i));
    json r;
    r["id"] = i;
    r["label"] = sp.label(i);
    r["status"] = chosen && *chosen == static_cast<int>(i) ? "chosen" : search::status_name(cs.status);
    r["by"] = cs.by >= 0 ? json(cs.by) : json(nullptr);
    r["previewed"] = previews[i].first;
    r["estimated"] = static_cast<bool>(previews[i].second);
    r["objective"] = st.objective(static_cast<int>(i));
    r["metric"] = cs.outcome ? json(cs.outcome->metric) : json(nullptr);
    r["model_stage"] = sp.candidates[i].runs.front().model;
    rows.push_back(r);
  }
  d["rows"] = rows;
  if (!chosen) {
    double best = sp.at_most ? 1e300 : -1e300;
    for (const auto& r : rows)
      if (!r["metric"].is_null())
        best = sp.at_most ? std::min(best, r["metric"].get<double>()) : std::max(best, r["metric"].get<double>());
    throw StageError(
        fmt::format("no candidate of the search reached {} {} {} ({} trained{}; the best measured {})", sp.metric,
                    sp.at_most ? "<=" : ">=", shown(mkey, sp.bar), st.trainings(),
                    st.untried() ? fmt::format(", {} left untried by the budget", st.untried()) : "",
                    shown(mkey, best)),
        "widen the space toward gentler compression (a lower amount, more bits, longer retraining), or lower the bar; "
        "every candidate trained is cached, so the next run trains only what is new");
  }
  return d;
}

void fill_search_objectives(Plan& plan, const std::map<int, torchrt::StagePreview>& previews) {
  for (const lang::StageInstance& s : plan.analysis->recipe.stages) {
    if (!s.search) continue;
    const std::string key = objective_metric(s.search->objective);
    const bool score = key != "nonzero" && key != "macs" && key != "size_mib";
    std::vector<std::pair<double, bool>> out;
    for (const auto& c : s.search->candidates) {
      const auto& r = c.runs.front();
      auto it = previews.find(r.evaluate);
      if (it == previews.end() || !it->second.metrics.count(key)) it = previews.find(r.model);
      if (it == previews.end() || !it->second.metrics.count(key)) break;
      out.emplace_back(it->second.metrics.at(key), it->second.estimated || (score && it->second.score_estimated));
    }
    if (out.size() == s.search->candidates.size()) plan.search_objectives[s.id] = std::move(out);
  }
}

json search_decisions(const Plan& plan, const ArtifactStore& store) {
  json out = json::array();
  for (const lang::StageInstance& s : plan.analysis->recipe.stages) {
    if (!s.search || !store.has(plan.keys[static_cast<std::size_t>(s.id)])) continue;
    if (auto d = read_decision(store.entry_dir(plan.keys[static_cast<std::size_t>(s.id)])))
      out.push_back(std::move(*d));
  }
  return out;
}

std::string search_tables(const Plan& plan, const ArtifactStore& store) {
  std::string out;
  for (const lang::StageInstance& s : plan.analysis->recipe.stages) {
    if (!s.search || !store.has(plan.keys[static_cast<std::size_t>(s.id)])) continue;
    if (auto d = read_decision(store.entry_dir(plan.keys[static_cast<std::size_t>(s.id)]))) {
      try {
        out += "\n" + search_table(*d);
      } catch (const std::exception& e) {
        out += fmt::format("\nsearch #{}: its decision could not be read ({})\n", s.id, e.what());
      }
    }
  }
  return out;
}

std::string search_plan_text(const Plan& plan) {
  std::string out;
  for (const lang::StageInstance& s : plan.analysis->recipe.stages) {
    if (!s.search) continue;
    const lang::SearchSpace& sp = *s.search;
    out += fmt::format("\n{} ({}): {} candidates", headline(s), where_written(plan, s.id), sp.candidates.size());
    std::optional<search::Strategy> st;
    try {
      st.emplace(strategy_of(plan, s));
    } catch (const StageError& e) {
      out += fmt::format("\n  (no preview: {})\n", e.what());
      continue;
    }
    out += fmt::format(", {} ruled out before training, at most {} trainings{}\n", st->ruled_out_statically(),
                       st->most_trainings(), sp.seeds > 1 ? fmt::format(" ({} seeds each)", sp.seeds) : "");
    const auto& pv = plan.search_objectives.at(s.id);
    std::vector<int> order(sp.candidates.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return pv[static_cast<std::size_t>(a)].first < pv[static_cast<std::size_t>(b)].first;
    });
    const std::string okey = objective_metric(sp.objective);
    std::size_t w = 9;
    for (std::size_t i = 0; i < sp.candidates.size(); ++i) w = std::max(w, sp.label(i).size());
    out += fmt::format("  {:<{}}  {:>12}  {}\n", "candidate", w, sp.objective, "before training");
    for (int id : order) {
      const auto& p = pv[static_cast<std::size_t>(id)];
      const search::CandidateState& cs = st->state(id);
      std::string note = "may train";
      if (cs.status == search::Status::RuledOutStatic)
        note = fmt::format("ruled out: {} costs less and passes whenever it would",
                           sp.label(static_cast<std::size_t>(cs.by)));
      out += fmt::format("  {:<{}}  {:>12}  {}\n", sp.label(static_cast<std::size_t>(id)), w,
                         (p.second ? "~" : "") + shown(okey, p.first), note);
    }
    if (std::any_of(pv.begin(), pv.end(), [](const auto& p) { return p.second; }))
      out +=
          "  ~: an estimate (the figure depends on trained weights): the search orders by it and judges by the "
          "measured figure\n";
  }
  return out;
}

json search_plan_json(const Plan& plan, const lang::StageInstance& s) {
  const lang::SearchSpace& sp = *s.search;
  json out = {{"objective", sp.objective},
              {"metric", sp.metric},
              {"at_most", sp.at_most},
              {"bar", sp.bar},
              {"budget", sp.budget},
              {"seeds", sp.seeds},
              {"candidates", sp.candidates.size()}};
  json rows = json::array();
  try {
    search::Strategy st = strategy_of(plan, s);
    out["ruled_out_statically"] = st.ruled_out_statically();
    out["most_trainings"] = st.most_trainings();
    const auto& pv = plan.search_objectives.at(s.id);
    for (std::size_t i = 0; i < sp.candidates.size(); ++i) {
      const auto& cs = st.state(static_cast<int>(i));
      rows.push_back({{"id", i},
                      {"label", sp.label(i)},
                      {"previewed", pv[i].first},
                      {"estimated", static_cast<bool>(pv[i].second)},
                      {"status", cs.status == search::Status::RuledOutStatic ? "ruled out statically" : "may train"},
                      {"by", cs.by >= 0 ? json(cs.by) : json(nullptr)}});
    }
  } catch (const StageError& e) {
    out["no_preview"] = e.what();
  }
  out["rows"] = rows;
  return out;
}

bool has_search(const Plan& plan) {
  for (const auto& s : plan.analysis->recipe.stages)
    if (s.search) return true;
  return false;
}

std::string search_table(const json& d) {
  const std::string okey = objective_metric(d.at("objective").get<std::string>());
  const std::string metric = d.at("metric").get<std::string>(), mkey = constraint_metric(metric);
  std::string out = fmt::format("search #{} lowest {} where {} {} {}: ", d.at("search").get<int>(),
                                d.at("objective").get<std::string>(), metric,
                                d.at("at_most").get<bool>() ? "<=" : ">=", shown(mkey, d.at("bar").get<double>()));
  const json& rows = d.at("rows");
  std::vector<const json*> sorted;
  for (const json& r : rows) sorted.push_back(&r);
  std::stable_sort(sorted.begin(), sorted.end(), [](const json* a, const json* b) {
    return a->at("objective").get<double>() < b->at("objective").get<double>();
  });
  const json& chosen = d.at("chosen");
  out += chosen.is_null() ? "no candidate passed" : fmt::format("chose {}", d.at("chosen_label").get<std::string>());
  out += fmt::format(" ({} trained of {} candidates)\n", d.at("trainings").get<int>(), d.at("candidates").get<int>());
  std::size_t w = 9;
  for (const json& r : rows) w = std::max(w, r.at("label").get<std::string>().size());
  out += fmt::format("  {:<{}}  {:>12}  {:>10}  {}\n", "candidate", w, d.at("objective").get<std::string>(), metric,
                     "status");
  for (const json* r : sorted) {
    std::string status = r->at("status").get<std::string>();
    if (!r->at("by").is_null())
      status += " by " + rows.at(r->at("by").get<std::size_t>()).at("label").get<std::string>();
    const bool trained = !r->at("metric").is_null();
    out += fmt::format(
        "  {:<{}}  {:>12}  {:>10}  {}\n", r->at("label").get<std::string>(), w,
        (!trained && r->at("estimated").get<bool>() ? "~" : "") + shown(okey, r->at("objective").get<double>()),
        trained ? shown(mkey, r->at("metric").get<double>()) : "-", status);
  }
  if (d.at("judged_by_estimates").get<bool>())
    out +=
        "  note: some previews were estimates (~): the candidates were ordered by them and judged by the measured "
        "figures\n";
  if (d.at("untried").get<int>() > 0)
    out += fmt::format("  the budget ran out: {} candidates left untried, the least {} among them {}\n",
                       d.at("untried").get<int>(), d.at("objective").get<std::string>(),
                       shown(okey, d.at("least_untried_objective").get<double>()));
  for (const json& b : d.at("broken_promises"))
    out += fmt::format(
        "  warning: {} passed though {} before it along a `monotone` dimension failed: the promise does not hold "
        "here\n",
        rows.at(b.at(0).get<std::size_t>()).at("label").get<std::string>(),
        rows.at(b.at(1).get<std::size_t>()).at("label").get<std::string>());
  return out;
}

}  // namespace whittle::runtime
