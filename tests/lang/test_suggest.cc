// Nearest-name suggestions.
#include <catch2/catch.hpp>

#include "lang/suggest.h"

using whittle::lang::edit_distance;
using whittle::lang::nearest;

TEST_CASE("edit distance counts swaps as one edit", "[suggest]") {
  CHECK(edit_distance("prune", "prune") == 0);
  CHECK(edit_distance("prnue", "prune") == 1);
  CHECK(edit_distance("trian", "train") == 1);
  CHECK(edit_distance("", "abc") == 3);
}

TEST_CASE("nearest suggests plausible misspellings only", "[suggest]") {
  const std::vector<std::string> stages = {"train", "retrain", "prune", "quantize", "evaluate"};
  CHECK(nearest("prnue", stages) == "prune");
  CHECK(nearest("evalute", stages) == "evaluate");
  CHECK(nearest("quant", stages) == "quantize");  // a prefix
  CHECK_FALSE(nearest("banana", stages).has_value());
  CHECK_FALSE(nearest("x", stages).has_value());
}
