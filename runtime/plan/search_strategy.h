// The strategy of `search lowest OBJECTIVE where METRIC >= X { choose ... }` (docs/language.md,
// "Search"): which candidates to train, in what order, and when the answer is known. A pure module
// over candidate indices: it never trains anything; the caller trains what `next` names and reports
// each outcome with `record`, so a fake evaluator can test it exhaustively.
//
// The space is every combination of the `choose` dimensions, numbered row-major (the first dimension
// varies slowest: the order an exhaustive sweep lists them). A candidate's key is (objective, number):
// its previewed objective until it is trained, its measured one after; the answer is the passing
// candidate of least key, the one the exhaustive sweep would choose.
//
// What the strategy knows without training:
//  - a candidate whose key is above a passing one's is never needed;
//  - `monotone` on a dimension promises that, the other choices equal, going further along it never
//    turns a failing candidate into a passing one; so a failing candidate rules out every candidate at
//    or beyond it along all monotone dimensions (equal on the others): its "up-set";
//  - by the same promise, a candidate with a candidate of lower key at or before it along the monotone
//    dimensions (equal on the others) can never be the answer: if it passed, that one would too. Such
//    candidates are ruled out statically, before anything trains.
// Which candidate to train next: among those still possible, the one whose outcome settles the most
// candidates whichever way it goes (the larger of the two counts' minimum; ties to the lowest key).
// On one monotone dimension that is bisection; with no monotone dimension it is plain objective order.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace whittle::runtime::search {

struct Dimension {
  std::string name;
  int size = 0;
  bool monotone = false;
};

/// What training a candidate measured: whether it met the constraint (with every seed), the metric
/// (the least over seeds) and the objective of the model it made.
struct Outcome {
  bool passed = false;
  double metric = 0;
  double objective = 0;
};

enum class Status {
  Untried,         ///< not trained, not settled: left when the budget ran out
  Pending,         ///< handed out by `next`, no outcome yet
  Passing,         ///< trained, met the constraint
  Failing,         ///< trained, missed it
  RuledOut,        ///< at or beyond a failing candidate along its monotone dimensions (`by`)
  RuledOutStatic,  ///< a candidate of lower key at or before it (`by`) passes whenever it would
  NotNeeded,       ///< its key is above the chosen candidate's (`by`)
};
const char* status_name(Status s);

struct CandidateState {
  Status status = Status::Untried;
  int by = -1;  ///< the candidate that ruled it out or made it unneeded
  std::optional<Outcome> outcome;
};

class Strategy {
 public:
  /// `objectives[i]`: candidate i's previewed objective; `estimated[i]`: whether that preview is an
  /// estimate (then its measured figure judges it). `budget`: at most this many trainings (0: none).
  Strategy(std::vector<Dimension> dims, std::vector<double> objectives, std::vector<bool> estimated, int budget = 0);

  std::size_t size() const { return objectives_.size(); }
  const std::vector<Dimension>& dims() const { return dims_; }
  /// Candidate i's choice per dimension, and back.
  std::vector<int> choices(int id) const;
  int id(const std::vector<int>& choices) const;

  /// Up to `max` candidates to train now, in order; empty when nothing more can be started (done,
  /// the budget is spent, or every remaining candidate waits on a pending one).
  std::vector<int> next(int max = 1);
  /// The outcome of training a candidate `next` named.
  void record(int id, const Outcome& outcome);
  /// True when no candidate is pending and none untried could still beat the best passing one (or
  /// the budget is spent).
  bool done() const;

  /// The answer: the passing candidate of least key; none when no candidate has passed.
  std::optional<int> chosen() const;
  const CandidateState& state(int id) const { return states_[id]; }
  double objective(int id) const;  ///< measured when trained, else previewed
  int trainings() const { return trainings_; }

  /// Candidates still possible when the search stopped (the budget ran out), and their least objective.
  int untried() const;
  std::optional<double> least_untried_objective() const;
  /// True when an estimated preview decided that some untrained candidate was not needed: the answer
  /// is the least measured among those trained, ordered by estimates.
  bool judged_by_estimates() const;
  /// Outcomes that broke a `monotone` promise: (the passing candidate, the failing one below it).
  const std::vector<std::pair<int, int>>& broken_promises() const { return broken_; }

  /// Before anything trains: the candidates ruled out statically, and an upper bound on trainings
  /// (every other candidate).
  int ruled_out_statically() const;
  int most_trainings() const { return static_cast<int>(size()) - ruled_out_statically(); }

 private:
  bool before(int a, int b) const;          ///< key order: objective, then number
  bool dominated(int low, int high) const;  ///< high is at or beyond low along monotone dims, equal elsewhere
  std::vector<int> open() const;            ///< untried candidates that could still be the answer
  void settle();                            ///< marks what is not needed once the search is done

  std::vector<Dimension> dims_;
  std::vector<int> stride_;
  std::vector<double> objectives_;
  std::vector<bool> estimated_;
  int budget_;
  int trainings_ = 0;
  std::vector<CandidateState> states_;
  std::vector<std::pair<int, int>> broken_;
};

}  // namespace whittle::runtime::search
