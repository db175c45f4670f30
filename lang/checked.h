// The checked recipe: every stage instance after `repeat`, `sweep` and `define` are unrolled, with all
// parameters resolved, defaulted and typed, and its inputs (model, data, teacher...) as indices.
// This is what lint rules read, what `whittle check` prints, and what compile turns into a graph.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lang/ast.h"
#include "lang/catalog.h"
#include "lang/source.h"

namespace whittle::lang {

namespace net {
struct Network;  // lang/network.h
}

/// A checked value. Quantities keep their unit; percentages are in percent (20% → 20).
struct Val {
  enum class Kind { None, Int, Float, Bool, String, Quantity, Enum, Call, List, Model, Result };
  Kind kind = Kind::None;
  double num = 0;
  ast::Unit unit = ast::Unit::None;
  std::string str;                                  ///< String contents, Enum word, Call kind name, Model/Result name
  std::string family;                               ///< Call: its family
  std::vector<Val> items;                           ///< List
  std::vector<std::pair<std::string, Val>> fields;  ///< Call: every parameter, in catalog order
  int ref = -1;                                     ///< Model/Result: the stage instance
  Span span;                                        ///< where the value was written (or the stage, for defaults)

  /// Canonical text in recipe syntax: `20%`, `120 epochs`, `sgd(lr: 0.1, momentum: 0.9, ...)`.
  std::string canonical() const;
  const Val* field(const std::string& name) const;
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float || kind == Kind::Quantity; }
};

/// Shortest text that reads back as the same double: 0.1, 1e-05, 120.
std::string format_number(double v);

/// Where a checked parameter's value came from.
enum class Origin { Given, Default, Inherited };

struct CheckedParam {
  std::string name;
  Val value;
  Origin origin = Origin::Given;
  int inherited_from = -1;  ///< the train stage, for Origin::Inherited
  bool named = false;       ///< written `name: value` (labels print it as written)
};

/// A `search` (docs/search.md): its space and, per candidate, the stages that make and measure it.
/// Candidates are numbered row-major over the dimensions (the first varies slowest), as a sweep of
/// the same body lists them.
struct SearchSpace {
  struct Dim {
    std::string name;
    std::vector<std::string> labels;  ///< each value as written: "50%", "4 bits"
    bool monotone = false;
  };
  /// One seed's training of a candidate: its stages [begin, end), the model it ends with and the
  /// `evaluate` that measures the constraint.
  struct Run {
    int begin = 0, end = 0;
    int model = -1;
    int evaluate = -1;
  };
  struct Candidate {
    std::vector<int> choices;  ///< per dimension, an index into its labels
    std::vector<Run> runs;     ///< one per seed
  };
  std::vector<Dim> dims;
  std::vector<Candidate> candidates;
  std::string objective;  ///< course2025, ..., params, macs, size
  std::string metric;     ///< accuracy, f1, ..., loss, latency
  bool at_most = false;   ///< `<=`: the metric must not exceed the bar
  double bar = 0;         ///< in the metric's own scale (accuracy 0.9, latency in ms)
  int budget = 0;         ///< most trainings; 0: no limit
  int seeds = 1;
  /// "amount=50% bits=4 bits".
  std::string label(std::size_t candidate) const;
  /// The candidate whose stages hold `stage`, or -1.
  int candidate_of(int stage) const;
};

struct StageInstance {
  int id = 0;
  std::string kind;     ///< catalog stage (aliases resolved: finetune → retrain)
  std::string written;  ///< the name as written
  const StageDef* def = nullptr;
  Span span;  ///< the whole stage as written
  Span name_span;
  std::vector<CheckedParam> params;
  int model_in = -1;         ///< the stage that produced the model this one starts from
  int data_in = -1;          ///< the `data` stage in force
  std::vector<int> refs_in;  ///< other stages it reads: a teacher, a sensitivity scan
  int train = -1;            ///< the `train` this model descends from along its own chain
  int seed = 0;
  std::string as_name;
  std::string where;             ///< "repeat 2/7, sweep amount=20%" (empty at top level)
  std::vector<Span> call_sites;  ///< `define` calls this instance was expanded from, outermost first
  /// `model NET`: the network written in the recipe, elaborated for the data in force (lang/network.h).
  std::shared_ptr<const net::Network> network;
  /// `model torchscript path: P`: P resolved against the recipe's folder (its content is keyed).
  std::string file;
  /// `search`: the space it chooses from (lang/check_search.cc).
  std::shared_ptr<const SearchSpace> search;

  const CheckedParam* param(const std::string& name) const;
  const Val* value(const std::string& name) const;
  bool produces_model() const { return def && def->produces == StageDef::Produces::Model; }
  /// Whether its catalog entry gives it this role (`s.is(Role::Train)`: a train or a retrain).
  bool is(StageDef::Role role) const { return def && def->role == role; }
};

/// A `let`, `as`, or sweep name, for the unused-name lint.
struct NameInfo {
  enum class Kind { Let, As, SweepVar, Choose };
  std::string name;
  Kind kind = Kind::Let;
  Span span;
  bool used = false;
};

struct CheckedRecipe {
  std::string name;  ///< from `recipe NAME`, else the file's stem
  std::vector<StageInstance> stages;
  std::vector<NameInfo> names;
  bool complete = true;  ///< false when expansion stopped early (too many stages)
};

/// `whittle check`'s listing: every stage with its resolved and defaulted parameters.
std::string dump(const CheckedRecipe& r, const SourceMap& sources);

}  // namespace whittle::lang
