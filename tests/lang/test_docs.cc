// The documentation stays true: README.md lists every diagnostic code, and grammar.md every rule
// that has an error message.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "lang/codes.h"

namespace {
std::string slurp(const std::string& rel) {
  std::ifstream in(std::string(WHITTLE_SOURCE_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("README.md lists every diagnostic code with its name and summary", "[docs]") {
  const std::string readme = slurp("README.md");
  for (const auto& c : whittle::lang::all_codes()) {
    const std::string row = std::string("| `") + c.code + "` | `" + c.name + "` | " + c.summary + " |";
    INFO(row);
    CHECK(readme.find(row) != std::string::npos);
  }
}

TEST_CASE("grammar.md documents the grammar's rules", "[docs]") {
  const std::string g = slurp("lang/grammar.md");
  for (const char* rule : {"comment", "numeric", "string_lit", "call_or_word", "named_arg", "stage", "block_args",
                           "chain", "statement", "recipe_stmt", "let_stmt", "use_stmt", "seed_stmt", "from_stmt",
                           "repeat_stmt", "sweep_stmt", "define_stmt", "type_spec", "stmt_or_recover"}) {
    INFO(rule);
    CHECK(g.find(std::string(rule) + " ") != std::string::npos);
  }
}
