// The search strategy (search_strategy.h).
#include "runtime/plan/search_strategy.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace whittle::runtime::search {

const char* status_name(Status s) {
  switch (s) {
    case Status::Untried:
      return "untried";
    case Status::Pending:
      return "pending";
    case Status::Passing:
      return "passing";
    case Status::Failing:
      return "failing";
    case Status::RuledOut:
      return "ruled out";
    case Status::RuledOutStatic:
      return "ruled out statically";
    case Status::NotNeeded:
      return "not needed";
  }
  return "?";
}

Strategy::Strategy(std::vector<Dimension> dims, std::vector<double> objectives, std::vector<bool> estimated, int budget)
    : dims_(std::move(dims)), objectives_(std::move(objectives)), estimated_(std::move(estimated)), budget_(budget) {
  std::size_t n = 1;
  for (const Dimension& d : dims_) {
    if (d.size < 1) throw std::invalid_argument("search: a dimension without values: " + d.name);
    n *= static_cast<std::size_t>(d.size);
  }
  if (dims_.empty() || n != objectives_.size() || estimated_.size() != n)
    throw std::invalid_argument("search: the objectives do not match the dimensions");
  stride_.assign(dims_.size(), 1);
  for (std::size_t d = dims_.size(); d-- > 1;) stride_[d - 1] = stride_[d] * dims_[d].size;
  states_.resize(n);

  // Ruled out statically: a candidate with one of lower key in its down-set (at or before it along
  // the monotone dimensions, equal on the others). `least[c]` is the down-set's least-key candidate,
  // built from the immediate predecessors, which have smaller numbers. Estimated previews are left
  // out: the argument needs the true order.
  std::vector<int> least(n);
  for (int c = 0; c < static_cast<int>(n); ++c) {
    least[c] = c;
    int best_pred = -1;
    const std::vector<int> at = choices(c);
    for (std::size_t d = 0; d < dims_.size(); ++d) {
      if (!dims_[d].monotone || at[d] == 0) continue;
      const int p = least[c - stride_[d]];
      if (best_pred < 0 || before(p, best_pred)) best_pred = p;
    }
    if (best_pred < 0) continue;
    if (before(best_pred, c) && !estimated_[c] && !estimated_[best_pred]) {
      states_[c] = {Status::RuledOutStatic, best_pred, std::nullopt};
      least[c] = best_pred;
    } else if (before(best_pred, c)) {
      least[c] = best_pred;
    }
  }
}

std::vector<int> Strategy::choices(int id) const {
  std::vector<int> out(dims_.size());
  for (std::size_t d = 0; d < dims_.size(); ++d) out[d] = (id / stride_[d]) % dims_[d].size;
  return out;
}

int Strategy::id(const std::vector<int>& choices) const {
  int id = 0;
  for (std::size_t d = 0; d < dims_.size(); ++d) id += choices.at(d) * stride_[d];
  return id;
}

double Strategy::objective(int id) const {
  const auto& o = states_[id].outcome;
  return o ? o->objective : objectives_[id];
}

bool Strategy::before(int a, int b) const {
  const double x = objective(a), y = objective(b);
  return x < y || (x == y && a < b);
}

bool Strategy::dominated(int low, int high) const {
  for (std::size_t d = 0; d < dims_.size(); ++d) {
    const int l = (low / stride_[d]) % dims_[d].size, h = (high / stride_[d]) % dims_[d].size;
    if (dims_[d].monotone ? h < l : h != l) return false;
  }
  return true;
}

std::optional<int> Strategy::chosen() const {
  std::optional<int> best;
  for (int c = 0; c < static_cast<int>(size()); ++c)
    if (states_[c].status == Status::Passing && (!best || before(c, *best))) best = c;
  return best;
}

std::vector<int> Strategy::open() const {
  std::vector<int> out;
  const auto best = chosen();
  for (int c = 0; c < static_cast<int>(size()); ++c)
    if (states_[c].status == Status::Untried && (!best || before(c, *best))) out.push_back(c);
  return out;
}

std::vector<int> Strategy::next(int max) {
  std::vector<int> out;
  int pending = 0;
  for (const auto& s : states_) pending += s.status == Status::Pending;
  while (static_cast<int>(out.size()) < max) {
    if (budget_ > 0 && trainings_ + pending >= budget_) break;
    std::vector<int> cands = open();
    if (cands.empty()) break;
    std::sort(cands.begin(), cands.end(), [&](int a, int b) { return before(a, b); });
    // If it passes: it and every candidate after it are settled. If it fails: its up-set among the
    // candidates is, counted for all of them at once by suffix sums along each monotone dimension.
    std::vector<int> up(size(), 0);
    for (int c : cands) up[c] = 1;
    for (std::size_t d = 0; d < dims_.size(); ++d) {
      if (!dims_[d].monotone) continue;
      for (int c = static_cast<int>(size()) - 1; c >= 0; --c)
        if ((c / stride_[d]) % dims_[d].size + 1 < dims_[d].size) up[c] += up[c + stride_[d]];
    }
    int pick = cands.front(), best_settled = -1;
    for (std::size_t r = 0; r < cands.size(); ++r) {
      const int settled = std::min(static_cast<int>(cands.size() - r), up[cands[r]]);
      if (settled > best_settled) best_settled = settled, pick = cands[r];
    }
    states_[pick].status = Status::Pending;
    ++pending;
    out.push_back(pick);
  }
  return out;
}

void Strategy::record(int id, const Outcome& outcome) {
  CandidateState& s = states_.at(id);
  if (s.outcome) throw std::logic_error("search: a candidate's outcome recorded twice");
  s.outcome = outcome;
  s.status = outcome.passed ? Status::Passing : Status::Failing;
  s.by = -1;
  ++trainings_;
  for (int c = 0; c < static_cast<int>(size()); ++c) {
    if (c == id) continue;
    CandidateState& o = states_[c];
    if (outcome.passed && o.status == Status::Failing && dominated(c, id)) broken_.emplace_back(id, c);
    if (!outcome.passed && dominated(id, c)) {
      if (o.status == Status::Passing) broken_.emplace_back(c, id);
      if (o.status == Status::Untried) o.status = Status::RuledOut, o.by = id;
    }
  }
  settle();
}

void Strategy::settle() {
  const auto best = chosen();
  if (!best) return;
  for (int c = 0; c < static_cast<int>(size()); ++c) {
    CandidateState& o = states_[c];
    if ((o.status == Status::Untried || o.status == Status::NotNeeded) && before(*best, c))
      o.status = Status::NotNeeded, o.by = *best;
  }
}

bool Strategy::done() const {
  for (const auto& s : states_)
    if (s.status == Status::Pending) return false;
  return (budget_ > 0 && trainings_ >= budget_) || open().empty();
}

int Strategy::untried() const { return static_cast<int>(open().size()); }

std::optional<double> Strategy::least_untried_objective() const {
  std::optional<double> least;
  for (int c : open())
    if (!least || objective(c) < *least) least = objective(c);
  return least;
}

bool Strategy::judged_by_estimates() const {
  for (std::size_t c = 0; c < size(); ++c)
    if (estimated_[c] && states_[c].status == Status::NotNeeded) return true;
  return false;
}

int Strategy::ruled_out_statically() const {
  return static_cast<int>(std::count_if(states_.begin(), states_.end(),
                                        [](const CandidateState& s) { return s.status == Status::RuledOutStatic; }));
}

}  // namespace whittle::runtime::search
