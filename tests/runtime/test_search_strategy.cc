// The search strategy against a fake evaluator: on thousands of random spaces and outcomes that
// keep the `monotone` promises, the answer is the exhaustive sweep's, nothing costlier than a passing
// candidate is trained, and every untrained candidate is settled for a stated reason.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <random>

#include "runtime/plan/search_strategy.h"

using namespace whittle::runtime::search;

namespace {

struct Space {
  std::vector<Dimension> dims;
  std::vector<double> objectives;
  std::vector<bool> passes;
};

/// Whether `high` is at or beyond `low` along every monotone dimension and equal on the others.
bool up_from(const Strategy& s, int low, int high) {
  const auto l = s.choices(low), h = s.choices(high);
  for (std::size_t d = 0; d < l.size(); ++d)
    if (s.dims()[d].monotone ? h[d] < l[d] : h[d] != l[d]) return false;
  return true;
}

/// A random space: objectives mostly falling along monotone dimensions (as more pruning or fewer bits
/// do), with ties; outcomes that keep the promises (the failing set closed upwards).
Space random_space(std::mt19937& rng) {
  Space sp;
  const int dims = std::uniform_int_distribution<int>(1, 3)(rng);
  std::size_t n = 1;
  for (int d = 0; d < dims; ++d) {
    Dimension dim{"d" + std::to_string(d), std::uniform_int_distribution<int>(1, 5)(rng), rng() % 3 != 0};
    n *= static_cast<std::size_t>(dim.size);
    sp.dims.push_back(dim);
  }
  Strategy shape(sp.dims, std::vector<double>(n, 0), std::vector<bool>(n, false));
  std::vector<double> weight(dims);
  for (auto& w : weight) w = std::uniform_int_distribution<int>(-1, 4)(rng);
  for (int c = 0; c < static_cast<int>(n); ++c) {
    const auto ch = shape.choices(c);
    double o = 20;
    for (int d = 0; d < dims; ++d) o -= weight[d] * ch[d];
    o += std::uniform_int_distribution<int>(0, 2)(rng);  // integers: ties happen
    sp.objectives.push_back(o);
  }
  std::vector<bool> fails(n, false);
  const int seeds = std::uniform_int_distribution<int>(0, 3)(rng);
  for (int k = 0; k < seeds; ++k) {
    const int f = std::uniform_int_distribution<int>(0, static_cast<int>(n) - 1)(rng);
    for (int c = 0; c < static_cast<int>(n); ++c)
      if (up_from(shape, f, c)) fails[c] = true;
  }
  for (bool f : fails) sp.passes.push_back(!f);
  return sp;
}

/// The exhaustive sweep's answer: the passing candidate of least (objective, number).
std::optional<int> sweep_answer(const Space& sp) {
  std::optional<int> best;
  for (int c = 0; c < static_cast<int>(sp.passes.size()); ++c)
    if (sp.passes[c] && (!best || sp.objectives[c] < sp.objectives[*best])) best = c;
  return best;
}

int run(Strategy& s, const Space& sp, int jobs) {
  int rounds = 0;
  while (!s.done()) {
    const auto batch = s.next(jobs);
    REQUIRE(!batch.empty());
    REQUIRE(static_cast<int>(batch.size()) <= jobs);
    for (int c : batch) {
      // Nothing costlier than a passing candidate is handed out.
      if (const auto best = s.chosen())
        CHECK((sp.objectives[c] < sp.objectives[*best] || (sp.objectives[c] == sp.objectives[*best] && c < *best)));
      CHECK(s.state(c).status == Status::Pending);
    }
    for (int c : batch) s.record(c, {sp.passes[c], sp.passes[c] ? 0.91 : 0.85, sp.objectives[c]});
    REQUIRE(++rounds <= static_cast<int>(sp.passes.size()));
  }
  return rounds;
}

}  // namespace

TEST_CASE("search: the answer is the exhaustive sweep's, on random spaces and promise-keeping outcomes", "[search]") {
  std::mt19937 rng(7);
  int spaces = 0, trained = 0, total = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const Space sp = random_space(rng);
    for (int jobs : {1, 3}) {
      Strategy s(sp.dims, sp.objectives, std::vector<bool>(sp.objectives.size(), false));
      run(s, sp, jobs);
      INFO("trial " << trial << " jobs " << jobs);
      CHECK(s.chosen() == sweep_answer(sp));
      CHECK(s.broken_promises().empty());
      CHECK(s.untried() == 0);
      // Every candidate is trained or settled, and each settled one for a reason that holds.
      for (int c = 0; c < static_cast<int>(s.size()); ++c) {
        const CandidateState& st = s.state(c);
        INFO("candidate " << c << " " << status_name(st.status));
        switch (st.status) {
          case Status::Passing:
            CHECK(sp.passes[c]);
            break;
          case Status::Failing:
            CHECK(!sp.passes[c]);
            break;
          case Status::RuledOut:
            CHECK(s.state(st.by).status == Status::Failing);
            CHECK(up_from(s, st.by, c));
            CHECK(!sp.passes[c]);
            break;
          case Status::RuledOutStatic:
            CHECK(up_from(s, st.by, c));
            CHECK(sp.objectives[st.by] <= sp.objectives[c]);
            break;
          case Status::NotNeeded:
            CHECK(st.by == *s.chosen());
            CHECK(sp.objectives[c] >= sp.objectives[st.by]);
            break;
          default:
            FAIL("left " << status_name(st.status));
        }
      }
      if (jobs == 1) trained += s.trainings(), total += static_cast<int>(s.size()), ++spaces;
    }
  }
  // The point of it: far fewer trainings than the sweep's.
  INFO(trained << " trainings for " << total << " candidates over " << spaces << " spaces");
  CHECK(trained < total / 2);
}

TEST_CASE("search: one monotone dimension is bisected", "[search]") {
  // 15 amounts, the objective falling as the amount grows; the first failing amount anywhere.
  const int n = 15;
  std::vector<double> objectives;
  for (int i = 0; i < n; ++i) objectives.push_back(100 - i);
  for (int boundary = 0; boundary <= n; ++boundary) {
    Space sp{{{"amount", n, true}}, objectives, {}};
    for (int i = 0; i < n; ++i) sp.passes.push_back(i < boundary);
    Strategy s(sp.dims, sp.objectives, std::vector<bool>(n, false));
    run(s, sp, 1);
    INFO("boundary " << boundary);
    CHECK(s.chosen() == (boundary == 0 ? std::nullopt : std::optional<int>(boundary - 1)));
    CHECK(s.trainings() <= 4);  // ceil(log2(16))
  }
  // Without the promise, objective order: the cheapest first, until one passes.
  Space sp{{{"amount", n, false}}, objectives, {}};
  for (int i = 0; i < n; ++i) sp.passes.push_back(i < 5);
  Strategy s(sp.dims, sp.objectives, std::vector<bool>(n, false));
  std::vector<int> order;
  while (!s.done()) {
    const int c = s.next(1).at(0);
    order.push_back(c);
    s.record(c, {sp.passes[c], 0, sp.objectives[c]});
  }
  CHECK(order == std::vector<int>{14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4});
  CHECK(s.chosen() == 4);
  CHECK(s.state(3).status == Status::NotNeeded);
  CHECK(s.state(3).by == 4);
}

TEST_CASE("search: candidates that can never be the answer are ruled out before anything trains", "[search]") {
  // More epochs (monotone: fewer never rescues... here the promise is that a later value never
  // passes where an earlier failed) at a higher objective: only the first can ever be chosen.
  Strategy s({{"epochs", 3, true}, {"bits", 2, false}}, {1, 2, 3, 4, 5, 6}, std::vector<bool>(6, false));
  CHECK(s.ruled_out_statically() == 4);
  CHECK(s.most_trainings() == 2);
  CHECK(s.state(s.id({2, 1})).status == Status::RuledOutStatic);
  CHECK(s.state(s.id({2, 1})).by == s.id({0, 1}));
  // An estimated preview is not trusted for that.
  std::vector<bool> estimated(6, true);
  Strategy e({{"epochs", 3, true}, {"bits", 2, false}}, {1, 2, 3, 4, 5, 6}, estimated);
  CHECK(e.ruled_out_statically() == 0);
}

TEST_CASE("search: a budget chooses the best passing so far and says what stayed untried", "[search]") {
  std::vector<double> objectives{9, 8, 7, 6, 5, 4, 3, 2};
  Strategy s({{"amount", 8, false}}, objectives, std::vector<bool>(8, false), /*budget=*/2);
  // The two cheapest fail, then the budget is spent: nothing passed.
  for (int c : s.next(4)) s.record(c, {false, 0.5, objectives[c]});
  CHECK(s.done());
  CHECK(s.next(1).empty());
  CHECK(!s.chosen());
  CHECK(s.untried() == 6);
  CHECK(s.least_untried_objective() == 4);

  Strategy t({{"amount", 8, false}}, objectives, std::vector<bool>(8, false), /*budget=*/3);
  const auto first = t.next(1);
  REQUIRE(first == std::vector<int>{7});
  t.record(7, {false, 0.8, 2});
  t.record(t.next(1).at(0), {false, 0.8, 3});
  const int third = t.next(1).at(0);
  CHECK(third == 5);
  t.record(third, {true, 0.92, 4});
  CHECK(t.done());
  CHECK(t.chosen() == 5);
  CHECK(t.untried() == 0);  // everything left is costlier than the chosen one
}

TEST_CASE("search: estimated previews order the search, measured objectives judge it", "[search]") {
  // Previews say candidate 1 is cheaper; measured, candidate 0 is. Both pass.
  Strategy s({{"x", 2, false}}, {5, 4}, {true, true});
  CHECK(s.next(1) == std::vector<int>{1});
  s.record(1, {true, 0.95, 6});  // measured: 6, above candidate 0's preview
  REQUIRE(!s.done());
  CHECK(s.next(1) == std::vector<int>{0});
  s.record(0, {true, 0.95, 5.5});
  CHECK(s.done());
  CHECK(s.chosen() == 0);
  CHECK(s.objective(0) == 5.5);
  // A candidate left untried because of an estimate is said so.
  Strategy t({{"x", 2, false}}, {5, 4}, {true, true});
  t.record(t.next(1).at(0), {true, 0.95, 4.5});
  CHECK(t.done());
  CHECK(t.state(0).status == Status::NotNeeded);
  CHECK(t.judged_by_estimates());
}

TEST_CASE("search: an outcome that breaks a monotone promise is reported", "[search]") {
  // Two at once: the cheapest fails, and the one beyond it, already training, passes.
  Strategy s({{"amount", 4, true}}, {4, 3, 2, 1}, std::vector<bool>(4, false));
  const auto batch = s.next(2);
  REQUIRE(batch.size() == 2);
  const int low = std::min(batch[0], batch[1]), high = std::max(batch[0], batch[1]);
  s.record(low, {false, 0.5, s.objective(low)});
  s.record(high, {true, 0.95, s.objective(high)});
  REQUIRE(s.broken_promises().size() == 1);
  CHECK(s.broken_promises()[0] == std::pair{high, low});
}

TEST_CASE("search: candidates are numbered as the sweep lists them", "[search]") {
  Strategy s({{"a", 2, true}, {"b", 3, false}}, std::vector<double>(6, 1), std::vector<bool>(6, false));
  CHECK(s.choices(0) == std::vector<int>{0, 0});
  CHECK(s.choices(1) == std::vector<int>{0, 1});
  CHECK(s.choices(3) == std::vector<int>{1, 0});
  for (int c = 0; c < 6; ++c) CHECK(s.id(s.choices(c)) == c);
  CHECK_THROWS(Strategy({{"a", 2, true}}, {1, 2, 3}, {false, false, false}));
}
