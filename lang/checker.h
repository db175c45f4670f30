// Internal to lang/: the Checker, split over check_stmt.cc (statements, scopes, stages),
// check_values.cc (values and types) and check_flow.cc (dataflow and stage rules).
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lang/check.h"
#include "lang/network.h"

namespace whittle::lang {

class Checker {
 public:
  Checker(const LoadedProgram& p, const Catalog& c, SourceMap& s, Diagnostics& d, const CheckOptions& o)
      : prog_(p), cat_(c), sources_(s), diags_(d), opts_(o) {}
  CheckedRecipe run();

 private:
  /// A name in scope: a typed value, or (for `let` and sweep items) a value written in the recipe,
  /// checked against the type each use expects.
  struct Binding {
    NameInfo::Kind kind = NameInfo::Kind::Let;
    Span def_span;
    int name_index = -1;  ///< into out_.names; -1 for define parameters
    const ast::Value* lazy = nullptr;
    Val val;
  };
  using Scope = std::map<std::string, Binding>;
  struct Frame {
    int model = -1;
    int data = -1;
    int seed = 0;
  };
  /// A positional or named argument matched to its parameter.
  struct BoundArg {
    const ParamDef* def;
    const ast::Arg* arg;
    Val val;
    bool ok = true;  ///< false: given, but its value did not check (already reported)
  };

  // check_stmt.cc
  void block(const std::vector<ast::Stmt>& stmts, Frame& f);
  void stmt(const ast::Stmt& s, Frame& f);
  void repeat(const ast::Stmt& s, Frame& f);
  void sweep(const ast::Stmt& s, Frame& f);
  /// A sweep's or a choose's values as bindings of its name; nullopt when reported.
  std::optional<std::vector<Binding>> values_of(const ast::Stmt& s, NameInfo::Kind kind);
  std::string label_of(const Binding& b) const;
  // check_search.cc
  void search(const ast::Stmt& s, Frame& f);
  /// The constraint's `evaluate` of a candidate's first run, checked (E0310, E0312); false when reported.
  bool search_measures(const ast::Stmt& s, const SearchSpace& space, int begin, int end, int& evaluate);
  void stage(const ast::Stage& st, Frame& f);
  /// `model NET`: the network declaration and the argument that names it.
  struct NetworkUse {
    const DefineInfo* info = nullptr;
    const ast::Arg* arch = nullptr;
    bool unknown = false;  ///< its architecture word was reported (E0103): no "`arch` missing" after it
  };
  void builtin_stage(const StageDef& def, const ast::Stage& st, Frame& f, const NetworkUse& net);
  void call_define(const DefineInfo& d, const ast::Stage& st, Frame& f);
  /// Binds a `define`'s (or a network's) arguments and defaults into `params`; false when one is
  /// missing or wrong (reported).
  bool define_params(const DefineInfo& d, const std::vector<ast::Arg>& args, Span at, Scope& params);
  /// `let NAME = value` in the current scope (the value checked at each use).
  void let(const ast::Stmt& s, const ast::Value* value);
  void bind(const std::string& name, Span span, Binding b);
  const Binding* lookup(const std::string& name, Span use);
  /// Counts one unit of unrolling work (a stage visited, a round, a branch); false once the budget is spent.
  bool spend(Span at);

  // check_network.cc
  struct NetContext;
  NetworkUse network_of(const ast::Stage& model) const;
  /// `model NAME` naming neither: E0103 with the nearest of the architectures and the networks.
  bool unknown_architecture(const ast::Stage& model);
  /// Binds `model NET knob: value`'s arguments to the network's parameters; adds them to `inst`.
  bool network_params(const NetworkUse& net, const ast::Stage& st, StageInstance& inst, Scope& params);
  std::shared_ptr<const net::Network> elaborate(const NetworkUse& net, const Scope& params, const StageInstance& data,
                                                const ast::Stage& model);
  bool net_block(const std::vector<ast::Stmt>& stmts, net::Shape& cur, std::vector<net::Layer>& out, NetContext& c);
  bool net_stage(const ast::Stage& st, net::Shape& cur, std::vector<net::Layer>& out, NetContext& c);
  bool net_layer(const CallDef& def, const ast::Stage& st, net::Shape& cur, std::vector<net::Layer>& out,
                 NetContext& c);
  /// A layer's elaboration, one function per kind of layer (check_network_layer.cc).
  struct LayerDraft;
  /// E0407 for a block given to a layer that takes none, or none to one that needs it.
  bool block_fits(net::Op op, const ast::Stage& st);
  /// E0405 for a layer that needs a C×H×W map after a `linear` flattened it.
  bool map_fits(net::Op op, const ast::Stage& st, const net::Shape& cur, const NetContext& c);
  bool layer_args(const CallDef& def, LayerDraft& d);
  bool conv_layer(LayerDraft& d);
  bool whiten_layer(LayerDraft& d);
  bool pool_layer(LayerDraft& d);
  bool residual_layer(LayerDraft& d);
  bool dense_layer(LayerDraft& d);
  bool unique_names(const std::vector<net::Layer>& block);
  bool net_call(const DefineInfo& d, const ast::Stage& st, net::Shape& cur, std::vector<net::Layer>& out,
                NetContext& c);

  // check_script.cc
  /// `model torchscript path: P`: P found (relative to the recipe) and recognised, into inst.file.
  void script_model(StageInstance& inst);
  /// The `model torchscript` a stage's chain starts from, if it does.
  /// Whether a built network is within E0410's bounds; says why not at `name` (check_network_size.cc).
  bool network_fits(const net::Network& n, Span name, Span model, const std::string& dataset);
  const StageInstance* scripted_root(const StageInstance& s);
  /// The help for a named argument that belongs inside one of the stage's calls (`lr:` of `train`
  /// is the optimizer's), or nullopt.
  std::optional<std::string> inside_a_call(const ast::Arg& a, const std::vector<ParamDef>& params) const;
  /// E0307 for what a scripted module cannot take (convert, activation quantization, physical slimming...).
  void script_refusals(const StageInstance& s);
  /// An export the exporters cannot write, at its line before anything runs (E0308).
  void export_refusals(const StageInstance& s);

  // check_values.cc
  std::optional<Val> coerce(const ast::Value& v, const Type& t);
  /// The value of arithmetic (`4 * $growth`), its `$names` followed; nullopt when reported.
  std::optional<double> arith_value(const ast::Value& v);
  std::optional<Val> coerce_ref(const ast::Value& v, const Type& t);
  std::optional<Val> check_bound(const Val& v, const Type& t, Span use);
  std::optional<Val> coerce_call(const ast::Value& v, const Type& t);
  bool check_range(const Val& v, const ParamDef& p, const std::string& owner);
  std::optional<Val> default_val(const ParamDef& p, Span at);
  /// What a positional argument is, after following `$NAME`s (check_args.cc).
  struct ArgShape {
    ast::Value::Kind kind = ast::Value::Kind::Number;
    ast::Unit unit = ast::Unit::None;
    std::string word;    ///< Word: the word; Call: the call name
    bool typed = false;  ///< a typed value (define parameter, sweep range item, `as` name)
    Val::Kind val_kind = Val::Kind::None;
  };
  /// E0101 for a named argument no parameter has, with the nearest name or the call it belongs in.
  void unknown_param(const ast::Arg& a, const std::vector<ParamDef>& params, const std::string& owner);
  /// Nullopt for a `$NAME` that is unknown (already reported).
  std::optional<ArgShape> positional_shape(const ast::Arg& a);
  /// The one enum or family parameter a bare word or call belongs to; null once it has said why none.
  const ParamDef* word_target(const ast::Arg& a, const ArgShape& sh, const std::vector<ParamDef>& params,
                              const std::string& owner);
  std::vector<BoundArg> bind_args(const std::vector<ast::Arg>& args, const std::vector<ParamDef>& params,
                                  const std::string& owner, bool builtin);
  std::vector<Val> expand_range(const ast::Value& r);
  std::optional<Val> infer(const ast::Value& v);
  void fill_call(Val& out, const CallDef& def, const std::vector<ast::Arg>& args, Span at);

  // check_flow.cc
  void apply_rules(const StageInstance& s);
  void retrain_flow(StageInstance& s, const std::vector<BoundArg>& given);
  void collect_refs(StageInstance& s);

  const LoadedProgram& prog_;
  const Catalog& cat_;
  SourceMap& sources_;
  Diagnostics& diags_;
  const CheckOptions& opts_;
  CheckedRecipe out_;
  std::vector<Scope> scopes_;
  std::vector<std::string> where_;
  std::vector<Span> call_sites_;
  std::vector<std::string> define_stack_;
  std::map<Span, int> name_index_;
  /// The `model` stage each stage's model chain starts at (-1: none), by stage id, filled as stages
  /// are checked: a chain of 100,000 stages is walked once, not once per stage.
  std::vector<int> chain_root_;
  /// The last `convert` along each stage's chain (-1: none), by stage id, filled in stage order.
  std::vector<int> converted_;
  std::map<const ParamDef*, std::optional<Val>> default_cache_;  ///< checked once per catalog parameter
  std::map<std::string, ast::Value> override_values_;
  bool stopped_ = false;
  bool in_search_ = false;                    ///< checking a search's body (a search inside one is refused)
  bool bind_failed_ = false;                  ///< the last bind_args call reported a problem with an argument
  std::vector<const ast::Value*> resolving_;  ///< the `let` values being followed (`let a = $b`), to find `let a = $a`
  std::size_t work_ = 0;
  std::set<Span> unknown_reported_;
  bool seen_recipe_ = false;
  Span recipe_span_;
};

}  // namespace whittle::lang
