// The abstract syntax tree of a recipe file. Plain data: every node keeps the span it came from.
// Built by parser.cc from PEGTL's parse tree; dumped by ast_dump.cc; printed back by fmt.cc.
#pragma once
#include <string>
#include <vector>

#include "lang/source.h"

namespace whittle::lang::ast {

enum class Unit { None, Epochs, Percent, Bits, Channels, Outputs };
const char* unit_name(Unit u);  ///< "epochs", "percent", "bits", "channels", "outputs", ""
/// The unit as the formatter writes it after `n`: "%", " epochs", " bit", " channels", ...
std::string unit_suffix(Unit u, double n);

struct Arg;
struct Stmt;

/// A value as written: `0.1`, `20%`, `"x"`, `true`, `l1`, `sgd(lr: 0.1)`, `[1, 2]`, `1%..5% by 1%`, `$x`,
/// or arithmetic `4 * $growth channels` (Arith: `text` is the operator `+ - * /`, or `()` for
/// parentheses, over `items`). A Ref or an Arith may carry a unit written after it.
struct Value {
  enum class Kind { Number, Quantity, String, Bool, Word, Call, List, Range, Ref, Arith };
  Kind kind = Kind::Number;
  Span span;
  std::string text;       ///< number lexeme, string contents (unescaped), word, call name or ref name
  std::string unit_text;  ///< the unit as written: "%", "epochs", "epoch", "bits", "bit"
  double number = 0;      ///< Number and Quantity
  Unit unit = Unit::None;
  bool boolean = false;
  std::vector<Value> items;  ///< List items; Range: from, to and optionally by; Arith operands
  std::vector<Arg> args;     ///< Call arguments
};

/// A stage or call argument: named (`lr: 0.1`) or positional (`20%`, `global`).
struct Arg {
  bool named = false;
  std::string name;
  Span name_span;
  Value value;
  Span span;
};

/// One stage invocation: `prune 20% global l1 { ... } as pruned`, or in a network a layer
/// `conv 64 channels`, a block `residual { LAYERS } shortcut: projection`, a call `block(growth: 4)`.
struct Stage {
  std::string name;
  Span name_span;
  std::vector<Arg> args;
  bool has_block = false;  ///< arguments came (partly) from a trailing `{ }` block
  bool call = false;       ///< written `name(args)`: the args came in parentheses
  bool has_body = false;   ///< a `{ LAYERS }` block of statements follows the arguments
  std::vector<Stmt> body;  ///< that block
  Span body_span;
  std::size_t args_before_body = 0;  ///< args[0, n) come before the body, the rest after it
  std::string as_name;
  Span as_span;
  Span span;
};

/// The declared type of a `define` parameter: one word (`epochs`) or an enum (`l1|l2`).
struct TypeSpec {
  std::vector<std::string> words;
  Span span;
};

struct Param {
  std::string name;
  Span name_span;
  TypeSpec type;
  bool has_default = false;
  Value default_value;
};

struct Stmt {
  enum class Kind { Recipe, Let, Use, Seed, From, Repeat, Sweep, Define, Chain, Network, Search, Choose };
  Kind kind = Kind::Chain;
  Span span;
  std::string name;  ///< recipe name, let name, sweep or choose variable, define or network name, search objective
  Span name_span;
  Value value;  ///< let value, use path, seed, from reference, repeat count, sweep or choose values, search bar
  /// Search: the constraint's metric and operator (`>=`, `<=`), its named arguments (`budget:`,
  /// `seeds:`) and `as` name. Choose: `monotone` in `flag`.
  std::string metric;
  Span metric_span;
  std::string op;
  std::vector<Arg> args;
  std::string as_name;
  Span as_span;
  bool flag = false;
  std::vector<Stage> chain;   ///< Chain: the stages joined by `->` (one for a plain line)
  std::vector<Param> params;  ///< Define, Network
  bool has_params = false;    ///< Network: written with a parameter list `(...)`
  std::vector<Stmt> body;     ///< Repeat, Sweep, Search, Define, Network
  Span body_span;             ///< from `{` to `}`
};

/// A `# ...` comment; `trailing` when code precedes it on its line.
struct Comment {
  Span span;
  std::string text;  ///< including the leading `#`
  bool trailing = false;
};

struct Recipe {
  FileId file = 0;
  std::vector<Stmt> stmts;
  std::vector<Comment> comments;
};

/// A string in recipe syntax, with `"`, `\`, newlines and tabs escaped.
std::string quote(const std::string& s);

/// An indented, span-free dump for tests and `whittle parse --dump` style debugging.
std::string dump(const Recipe& r);
std::string dump(const Value& v);

}  // namespace whittle::lang::ast
