// The stage catalog (stdlib/stages.yaml): every built-in stage and value-building call, with its
// parameters' types, units, ranges, defaults and docs. One source of truth for check, lint, doc and
// the runtime's parameter decoding (docs/architecture.md decision 4).
#pragma once
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "lang/ast.h"

namespace whittle::lang {

enum class TypeKind {
  Int,
  Float,
  Bool,
  String,
  Epochs,
  Percent,
  Bits,
  Channels,
  Outputs,
  Enum,
  List,
  Model,
  Result,
  Family
};

struct Type {
  TypeKind kind = TypeKind::Int;
  std::vector<std::string> values;  ///< Enum words
  std::string name;                 ///< Family: family name; Result: the stage whose result it is
  std::vector<Type> item;           ///< List: its one item type
  /// "percent", "int", "one of `l1`, `l2`", "list of int", "optimizer".
  std::string describe() const;
  bool is_quantity() const { return unit_of(kind) != ast::Unit::None; }
  /// The unit of a quantity type (Epochs → epochs, ...); None for every other kind.
  static ast::Unit unit_of(TypeKind k);
  /// The quantity type of a unit; Int for none.
  static TypeKind of_unit(ast::Unit u);
};

/// An interval written like "[0, 100)" or "(0, inf)".
struct Interval {
  bool present = false;
  double lo = 0, hi = 0;
  bool lo_open = false, hi_open = false;
  std::string text;
  bool contains(double v) const;
};

/// Whether a parameter is part of its stage's cache key.
enum class KeyPolicy {
  Always,
  Never,          ///< it changes where a stage runs or what it reports, never its result (device, eval_every)
  UnlessDefault,  ///< added after the stage's first release: keyed only away from its default, so old entries stay
                  ///< valid
  /// A `data` parameter that changes only what is evaluated (test_subset): never in the data's own
  /// key (so no training reruns), keyed away from its default in every stage that reads the test
  /// split (`reads_test: true` in the catalog).
  TestSplit,
};

struct ParamDef {
  std::string name;
  Type type;
  std::string default_text;  ///< recipe syntax; "none" for an absent optional value
  bool has_default = false;
  bool required = false;
  bool inherit = false;  ///< taken from the chain's `train` when not given
  bool positional = false;
  KeyPolicy key = KeyPolicy::Always;
  Interval range;
  /// Given, it applies only while another parameter holds one of these words (`model`'s `width`
  /// shapes the ResNets and VGGs, not a DenseNet): `only_for: {arch: [resnet18, ...]}`.
  std::string only_for;
  std::vector<std::string> only_for_values;
  std::string doc;
  int line = 0;
  /// Whether it applies where `other` (the parameter only_for names) holds `word`.
  bool applies_for(const std::string& word) const;
};

/// A value-building call such as `sgd(lr: 0.1)`: one kind of a family.
struct CallDef {
  std::string family;
  std::string name;
  std::string doc;
  std::vector<ParamDef> params;
  int line = 0;
  const ParamDef* param(const std::string& n) const;
};

struct Family {
  std::string name;
  std::string doc;
  std::vector<CallDef> kinds;
  const CallDef* kind(const std::string& n) const;
  std::vector<std::string> kind_names() const;
};

/// A cross-parameter rule: when every `when` holds, every `require` must hold and no `forbid` may.
struct StageRule {
  std::vector<std::pair<std::string, std::string>> when, require, forbid;  ///< param → recipe-syntax value
  std::string message;
  int line = 0;
};

struct StageDef {
  enum class Produces { Model, Data, Nothing };
  /// What the rest of whittle may rely on the stage to be, so that the planner, reports, submissions
  /// and lints ask for a role, never for a stage's name (stdlib/stages.yaml, `role:`).
  enum class Role {
    None,
    Start,     ///< begins a chain with a fresh model (`model`)
    Train,     ///< trains the model: its epochs make a training curve (`train`, `retrain`)
    Compress,  ///< prunes or quantizes the model, a step a retrain recovers from (`prune`, `quantize`)
    Measure,   ///< measures the model's accuracy on a split: what a search constrains and a submission claims
    Table,     ///< writes a table the report shows (`score`, `sensitivity`)
    Deliver,   ///< hands a file to a path the user names, at the run's end (`export`)
  };
  std::string name;
  std::string doc;
  bool needs_model = false;
  bool needs_data = false;
  Produces produces = Produces::Model;
  /// The implementation version of the runtime's code for it, part of every cache key: bumped when
  /// a change to that code changes its results. 0: the runtime does not run this stage.
  int version = 0;
  /// It reads the data's test split (evaluate, export's parity, a sensitivity scan): the data's
  /// TestSplit parameters are in its key.
  bool reads_test = false;
  Role role = Role::None;
  std::vector<ParamDef> params;
  std::vector<StageRule> rules;
  int line = 0;
  const ParamDef* param(const std::string& n) const;
  std::vector<std::string> param_names() const;
};

/// The role's word in the catalog (`train`), and back (Role::None for a word that is none).
const char* role_word(StageDef::Role r);
StageDef::Role role_of_word(const std::string& word);

/// A malformed catalog: names its file and line.
struct CatalogError : std::runtime_error {
  CatalogError(std::string file, int line, const std::string& msg);
  std::string file;
  int line;
};

class Catalog {
 public:
  /// Reads a catalog; throws CatalogError naming `file_name` and the line of the problem.
  static Catalog load(std::string_view yaml, const std::string& file_name);
  /// The catalog embedded from stdlib/stages.yaml (loaded once).
  static const Catalog& builtin();

  const StageDef* stage(const std::string& name) const;  ///< aliases resolved
  /// The stage an alias stands for ("finetune" → "retrain"), or the name itself.
  std::string canonical_stage(const std::string& name) const;
  const Family* family(const std::string& name) const;
  /// The family and kind of a call name ("sgd" → optimizer/sgd), searching every family.
  std::vector<const CallDef*> calls_named(const std::string& name) const;
  std::vector<std::string> stage_names() const;  ///< including aliases
  /// A layer of a network (`conv`, `bn`, `residual`, ...): the `layers:` section; family "layer".
  const CallDef* layer(const std::string& name) const;
  const std::vector<CallDef>& layers() const { return layers_; }
  const std::vector<StageDef>& stages() const { return stages_; }
  const std::vector<Family>& families() const { return families_; }
  const std::vector<std::pair<std::string, std::string>>& aliases() const { return aliases_; }

 private:
  std::vector<StageDef> stages_;
  std::vector<Family> families_;
  std::vector<CallDef> layers_;
  std::vector<std::pair<std::string, std::string>> aliases_;  ///< alias → stage
};

}  // namespace whittle::lang
