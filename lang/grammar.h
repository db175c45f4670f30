// The PEGTL grammar of recipe files (documented in lang/grammar.md; keep the two in step).
// Rules only: the error messages at commit points live in syntax_errors.h, recovery in parser.cc,
// and the AST is built from the parse tree in parser.cc.
#pragma once
#include <tao/pegtl.hpp>

namespace whittle::lang::grammar {

namespace pg = tao::pegtl;
using pg::at;
using pg::eof;
using pg::eol;
using pg::identifier;
using pg::identifier_other;
using pg::must;
using pg::not_at;
using pg::one;
using pg::opt;
using pg::plus;
using pg::seq;
using pg::sor;
using pg::star;

// Whitespace and comments. `ws` stays on the line; `wsnl` crosses lines (inside brackets).
struct comment : seq<one<'#'>, star<pg::not_one<'\n'>>> {};
struct blank : one<' ', '\t'> {};
struct ws : star<sor<blank, comment>> {};
struct wsnl : star<sor<one<' ', '\t', '\r', '\n'>, comment>> {};

// Keywords.
struct kw_recipe : TAO_PEGTL_KEYWORD("recipe") {};
struct kw_let : TAO_PEGTL_KEYWORD("let") {};
struct kw_use : TAO_PEGTL_KEYWORD("use") {};
struct kw_seed : TAO_PEGTL_KEYWORD("seed") {};
struct kw_from : TAO_PEGTL_KEYWORD("from") {};
struct kw_repeat : TAO_PEGTL_KEYWORD("repeat") {};
struct kw_sweep : TAO_PEGTL_KEYWORD("sweep") {};
struct kw_search : TAO_PEGTL_KEYWORD("search") {};
struct kw_choose : TAO_PEGTL_KEYWORD("choose") {};
struct kw_define : TAO_PEGTL_KEYWORD("define") {};
struct kw_network : TAO_PEGTL_KEYWORD("network") {};
struct kw_as : TAO_PEGTL_KEYWORD("as") {};
struct kw_in : TAO_PEGTL_KEYWORD("in") {};
struct kw_by : TAO_PEGTL_KEYWORD("by") {};
struct kw_true : TAO_PEGTL_KEYWORD("true") {};
struct kw_false : TAO_PEGTL_KEYWORD("false") {};
/// Words that can never be a bare-word argument.
struct reserved : sor<kw_as, kw_in, kw_by> {};
/// Words that can never be a stage name.
struct keyword : sor<kw_recipe, kw_let, kw_use, kw_seed, kw_from, kw_repeat, kw_sweep, kw_search, kw_choose, kw_define,
                     kw_network, kw_as, kw_in, kw_by, kw_true, kw_false> {};

// Numbers and quantities.
struct digits : plus<pg::digit> {};
struct exponent : seq<one<'e', 'E'>, opt<one<'+', '-'>>, digits> {};
struct number : seq<opt<one<'-', '+'>>, sor<seq<digits, opt<one<'.'>, digits>>, seq<one<'.'>, digits>>, opt<exponent>> {
};
struct unit_word : sor<TAO_PEGTL_KEYWORD("epochs"), TAO_PEGTL_KEYWORD("epoch"), TAO_PEGTL_KEYWORD("bits"),
                       TAO_PEGTL_KEYWORD("bit"), TAO_PEGTL_KEYWORD("channels"), TAO_PEGTL_KEYWORD("channel"),
                       TAO_PEGTL_KEYWORD("outputs"), TAO_PEGTL_KEYWORD("output")> {};
/// A unit word followed by `:` is the name of the next argument (`2 epochs: 5` is not `2 epochs`).
struct unit : sor<one<'%'>, seq<unit_word, not_at<star<blank>, one<':'>>>> {};

// Strings: one line, escapes \" \\ \n \t.
struct escaped : one<'"', '\\', 'n', 't'> {};
struct escape : seq<one<'\\'>, must<escaped>> {};
struct string_body : star<sor<escape, pg::not_one<'"', '\\', '\n', '\r'>>> {};
struct string_close : one<'"'> {};
struct string_lit : seq<one<'"'>, string_body, must<string_close>> {};

struct boolean : sor<kw_true, kw_false> {};
struct ref_name : identifier {};
struct ref : seq<one<'$'>, must<ref_name>> {};

// Arithmetic over numbers and `$refs`: `4 * $growth`, `($a + $b) / 2`, then an optional unit.
// `+` and `-` are operators only when no digit follows (`-1` is a number: `f 1 -1` is two
// arguments) and `-` not before `>` (`->` joins stages).
struct arith_sum;
struct arith_operand;
struct arith_close : one<')'> {};
struct arith_parens : seq<one<'('>, wsnl, must<arith_sum>, wsnl, must<arith_close>> {};
struct arith_atom : sor<arith_parens, ref, number> {};
struct arith_operand : arith_atom {};
struct mul_op : one<'*', '/'> {};
struct add_op : seq<one<'+', '-'>, not_at<sor<one<'>', '.'>, pg::digit>>> {};
struct arith_product : seq<arith_atom, star<ws, mul_op, ws, must<arith_operand>>> {};
struct arith_term : arith_product {};
struct arith_sum : seq<arith_product, star<ws, add_op, ws, must<arith_term>>> {};
struct numeric : seq<arith_sum, opt<star<blank>, unit>> {};

// Values.
struct value;
struct named_arg;
struct arg : sor<named_arg, value> {};
struct list_close : one<']'> {};
struct list
    : seq<one<'['>, wsnl, opt<value, star<wsnl, one<','>, wsnl, value>, opt<wsnl, one<','>>>, wsnl, must<list_close>> {
};
struct call_close : one<')'> {};
struct paren_args
    : seq<one<'('>, wsnl, opt<arg, star<wsnl, one<','>, wsnl, arg>, opt<wsnl, one<','>>>, wsnl, must<call_close>> {};
struct word_name : seq<not_at<reserved>, identifier> {};
struct call_or_word : seq<word_name, opt<paren_args>> {};
struct scalar : sor<string_lit, boolean, list, numeric, call_or_word> {};
struct range_to : scalar {};
struct range_step : scalar {};
struct range_by : seq<ws, kw_by, ws, must<range_step>> {};
struct value : seq<scalar, opt<ws, pg::two<'.'>, ws, must<range_to>, opt<range_by>>> {};

struct arg_name : identifier {};
struct arg_value : value {};
struct named_arg : seq<arg_name, ws, one<':'>, ws, must<arg_value>> {};

// Blocks of statements.
struct statement;
struct stmt_or_recover;
struct blank_lines : plus<sor<one<' ', '\t', '\r', '\n', ';'>, comment>> {};
struct body : star<sor<blank_lines, seq<not_at<one<'}'>>, not_at<eof>, stmt_or_recover>>> {};
struct block_open : one<'{'> {};
struct block_close : one<'}'> {};
struct block : seq<block_open, body, must<block_close>> {};

// Stages and chains. A `{ }` after a stage's arguments holds named arguments when it is empty or
// starts with `name:`, else statements: the layers of a `residual`, `dense` or `repeat` in a network.
struct stage_name : seq<not_at<keyword>, identifier> {};
struct block_arg : named_arg {};
struct block_args : seq<one<'{'>, wsnl, star<not_at<one<'}'>>, not_at<eof>, must<block_arg>, ws, opt<one<','>>, wsnl>,
                        must<block_close>> {};
struct layer_block : block {};
struct stage_block
    : sor<seq<at<one<'{'>, wsnl, sor<one<'}'>, seq<identifier, ws, one<':'>>>>, block_args>, layer_block> {};
struct as_name : identifier {};
struct as_clause : seq<kw_as, ws, must<as_name>> {};
struct call_args : paren_args {};
struct stage : seq<stage_name, opt<call_args>, star<ws, arg>, opt<ws, stage_block, star<ws, arg>>, opt<ws, as_clause>> {
};
struct next_stage : stage {};
struct arrow : pg::string<'-', '>'> {};
struct chain : seq<stage, star<ws, arrow, wsnl, must<next_stage>>> {};

// Statements.
struct recipe_name : identifier {};
struct recipe_stmt : seq<kw_recipe, ws, must<recipe_name>> {};
struct let_name : identifier {};
struct equals : one<'='> {};
struct let_value : value {};
struct let_stmt : seq<kw_let, ws, must<let_name>, ws, must<equals>, ws, must<let_value>> {};
struct use_path : string_lit {};
struct use_stmt : seq<kw_use, ws, must<use_path>> {};
struct seed_value : numeric {};
struct seed_stmt : seq<kw_seed, ws, must<seed_value>> {};
struct from_ref : ref {};
struct from_stmt : seq<kw_from, ws, must<from_ref>> {};
struct repeat_count : numeric {};
struct repeat_stmt : seq<kw_repeat, ws, must<repeat_count>, ws, must<block>> {};
struct sweep_var : identifier {};
struct sweep_in : kw_in {};
struct sweep_values : value {};
struct sweep_stmt : seq<kw_sweep, ws, must<sweep_var>, ws, must<sweep_in>, ws, must<sweep_values>, ws, must<block>> {};
// `search lowest OBJECTIVE where METRIC >= X [budget: N] [seeds: K] [as NAME] { choose ...; BODY }`
// (`lowest`, `where` and `monotone` are words in their places, not reserved).
struct search_lowest : TAO_PEGTL_KEYWORD("lowest") {};
struct search_objective : identifier {};
struct search_where : TAO_PEGTL_KEYWORD("where") {};
struct search_metric : identifier {};
struct search_op : sor<pg::string<'>', '='>, pg::string<'<', '='>> {};
struct search_bar : value {};
struct search_arg : named_arg {};
struct search_stmt : seq<kw_search, ws, must<search_lowest>, ws, must<search_objective>, ws, must<search_where>, ws,
                         must<search_metric>, ws, must<search_op>, ws, must<search_bar>, star<ws, search_arg>,
                         opt<ws, as_clause>, ws, must<block>> {};
struct choose_var : identifier {};
struct choose_in : kw_in {};
struct choose_values : value {};
struct choose_monotone : TAO_PEGTL_KEYWORD("monotone") {};
struct choose_stmt
    : seq<kw_choose, ws, must<choose_var>, ws, must<choose_in>, ws, must<choose_values>, opt<ws, choose_monotone>> {};
struct define_name : identifier {};
struct param_name : identifier {};
struct param_colon : one<':'> {};
struct type_word : identifier {};
struct type_spec : seq<type_word, star<ws, one<'|'>, ws, must<type_word>>> {};
struct param_default : value {};
struct param : seq<param_name, ws, must<param_colon>, ws, must<type_spec>, opt<ws, one<'='>, ws, must<param_default>>> {
};
struct param_open : one<'('> {};
struct param_close : one<')'> {};
struct define_stmt : seq<kw_define, ws, must<define_name>, ws, must<param_open>, wsnl,
                         opt<param, star<wsnl, one<','>, wsnl, param>, opt<wsnl, one<','>>>, wsnl, must<param_close>,
                         ws, must<block>> {};

struct network_name : identifier {};
struct network_params : seq<param_open, wsnl, opt<param, star<wsnl, one<','>, wsnl, param>, opt<wsnl, one<','>>>, wsnl,
                            must<param_close>> {};
struct network_stmt : seq<kw_network, ws, must<network_name>, ws, opt<network_params, ws>, must<block>> {};

struct stmt_end : sor<one<';'>, eol, at<one<'}'>>, eof> {};
struct statement : seq<sor<recipe_stmt, let_stmt, use_stmt, seed_stmt, from_stmt, repeat_stmt, sweep_stmt, search_stmt,
                           choose_stmt, define_stmt, network_stmt, chain>,
                       ws, must<stmt_end>> {};

/// A file holding a single value: a `--set` value or a catalog default.
struct value_end : eof {};
struct value_only : seq<wsnl, value, wsnl, must<value_end>> {};

struct file : seq<opt<pg::utf8::bom>, body, star<stmt_or_recover, body>, eof> {};

}  // namespace whittle::lang::grammar
