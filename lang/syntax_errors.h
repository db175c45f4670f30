// What the parser says at each commit point (each `must<...>` in grammar.h): a code, what was
// expected, and help where it helps. parser.cc adds "found ..." from the input.
#pragma once
#include "lang/grammar.h"

namespace whittle::lang::grammar {

struct Expectation {
  const char* code;
  const char* expected;  ///< completes "expected ..."
  const char* help;      ///< nullptr when none
};

template <typename Rule>
inline constexpr Expectation expectation{"E0001", "something else here", nullptr};

#define WHITTLE_EXPECT(RULE, CODE, EXPECTED, HELP) \
  template <>                                      \
  inline constexpr Expectation expectation<RULE>{CODE, EXPECTED, HELP};

WHITTLE_EXPECT(escaped, "E0001", "an escape `\\\"`, `\\\\`, `\\n` or `\\t` after `\\`", nullptr)
WHITTLE_EXPECT(string_close, "E0004", "a closing `\"`", "a string ends on the line where it starts: close it with `\"`")
WHITTLE_EXPECT(ref_name, "E0003", "a name after `$`",
               "write `$NAME`, where NAME comes from a `let`, an `as` or a parameter")
WHITTLE_EXPECT(list_close, "E0002", "`,` or `]`", "separate list items with `,` and close the list with `]`")
WHITTLE_EXPECT(call_close, "E0002", "`,` or `)`",
               "write the arguments as `name: value`, separated by `,`, and close with `)`")
WHITTLE_EXPECT(range_to, "E0003", "the end of the range after `..`", "a range looks like `10%..80% by 10%`")
WHITTLE_EXPECT(range_step, "E0003", "a step after `by`", "a range looks like `10%..80% by 10%`")
WHITTLE_EXPECT(arg_value, "E0003", "a value after `:`", "give the value on the same line, e.g. `lr: 0.1`")
WHITTLE_EXPECT(block_arg, "E0001", "`name: value` in the stage's `{ }` block",
               "a stage's block holds named arguments only, one per line or separated by `,`")
WHITTLE_EXPECT(block_close, "E0002", "`}` to close the block", nullptr)
WHITTLE_EXPECT(as_name, "E0003", "a name after `as`", "e.g. `train 200 epochs as teacher`")
WHITTLE_EXPECT(next_stage, "E0003", "a stage after `->`", "a line ending in `->` continues on the next line")
WHITTLE_EXPECT(recipe_name, "E0003", "the recipe's name after `recipe`", "e.g. `recipe densenet_lrr`")
WHITTLE_EXPECT(let_name, "E0003", "a name after `let`", "e.g. `let rounds = 7`")
WHITTLE_EXPECT(equals, "E0001", "`=` after the name", "e.g. `let rounds = 7`")
WHITTLE_EXPECT(let_value, "E0003", "a value after `=`", "e.g. `let rounds = 7`")
WHITTLE_EXPECT(use_path, "E0003", "a quoted path after `use`",
               "e.g. `use \"std/rewinding.recipe\"` or `use \"my_stages.recipe\"`")
WHITTLE_EXPECT(seed_value, "E0003", "a number after `seed`", "e.g. `seed 1`")
WHITTLE_EXPECT(from_ref, "E0003", "`$NAME` after `from`", "e.g. `from $teacher`")
WHITTLE_EXPECT(repeat_count, "E0003", "a count after `repeat`", "e.g. `repeat 7 { ... }` or `repeat $rounds { ... }`")
WHITTLE_EXPECT(block, "E0003", "`{` to open the block", nullptr)
WHITTLE_EXPECT(sweep_var, "E0003", "the sweep variable's name", "e.g. `sweep amount in 0%..80% by 10% { ... }`")
WHITTLE_EXPECT(sweep_in, "E0001", "`in` after the sweep variable", "e.g. `sweep amount in 0%..80% by 10% { ... }`")
WHITTLE_EXPECT(sweep_values, "E0003", "the values to sweep over after `in`",
               "a list `[a, b]` or a range `0%..80% by 10%`")
WHITTLE_EXPECT(search_lowest, "E0001", "`lowest` after `search`",
               "e.g. `search lowest course2025 where accuracy >= 90% { ... }`")
WHITTLE_EXPECT(search_objective, "E0003", "what to minimise after `lowest`",
               "a score preset (`course2025`, ...), `params`, `macs` or `size`")
WHITTLE_EXPECT(search_where, "E0001", "`where` and the constraint",
               "e.g. `search lowest course2025 where accuracy >= 90% { ... }`")
WHITTLE_EXPECT(search_metric, "E0003", "the metric the constraint is on after `where`", "e.g. `where accuracy >= 90%`")
WHITTLE_EXPECT(search_op, "E0001", "`>=` or `<=` after the metric",
               "e.g. `where accuracy >= 90%` or `where latency <= 2`")
WHITTLE_EXPECT(search_bar, "E0003", "the bar the metric must reach", "e.g. `where accuracy >= 90%`")
WHITTLE_EXPECT(choose_var, "E0003", "the name of the choice after `choose`",
               "e.g. `choose amount in 50%..90% by 10% monotone`")
WHITTLE_EXPECT(choose_in, "E0001", "`in` after the choice's name", "e.g. `choose bits in [8 bits, 4 bits]`")
WHITTLE_EXPECT(choose_values, "E0003", "the values to choose from after `in`",
               "a list `[a, b]` or a range `50%..90% by 10%`")
WHITTLE_EXPECT(define_name, "E0003", "the new stage's name after `define`",
               "e.g. `define lrr(rounds: int = 7) { ... }`")
WHITTLE_EXPECT(param_open, "E0001", "`(` and the parameter list", "e.g. `define lrr(rounds: int = 7) { ... }`")
WHITTLE_EXPECT(param_colon, "E0003", "`:` and a type after the parameter name",
               "types: epochs, percent, bits, int, float, bool, string, or an enum `l1|l2`")
WHITTLE_EXPECT(type_word, "E0003", "a type",
               "types: epochs, percent, bits, int, float, bool, string, or an enum `l1|l2`")
WHITTLE_EXPECT(param_default, "E0003", "a default value after `=`", nullptr)
WHITTLE_EXPECT(param_close, "E0002", "`,` or `)` in the parameter list", nullptr)
WHITTLE_EXPECT(arith_sum, "E0003", "a number or `$name` after `(`", "e.g. `($a + $b) * 2`")
WHITTLE_EXPECT(arith_close, "E0002", "`)` to close the parentheses", "e.g. `($a + $b) * 2`")
WHITTLE_EXPECT(arith_operand, "E0003", "a number, `$name` or `(` after the operator", "e.g. `4 * $growth channels`")
WHITTLE_EXPECT(arith_term, "E0003", "a number, `$name` or `(` after the operator",
               "write spaces around `+` and `-`: `$a - 1`")
WHITTLE_EXPECT(network_name, "E0003", "the network's name after `network`",
               "e.g. `network my_net(width: int = 16) { conv $width channels -> ... }`")
WHITTLE_EXPECT(value_end, "E0001", "the end of the value", nullptr)
WHITTLE_EXPECT(stmt_end, "E0001", "the end of the statement (a new line or `;`)", nullptr)

#undef WHITTLE_EXPECT

}  // namespace whittle::lang::grammar
