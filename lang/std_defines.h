// The standard library's `define`s (stdlib/std/*.recipe), for `whittle doc`: each one's name, its
// signature as written, the file to `use`, and the comment written above it.
#pragma once
#include <string>
#include <vector>

namespace whittle::lang {

struct StdDefine {
  std::string name;       ///< lr_rewinding
  std::string signature;  ///< lr_rewinding(rounds: int = 7, amount: percent = 20%, ...)
  std::string file;       ///< std/rewinding.recipe
  std::string doc;        ///< the comment lines right above it, without their `#`
};

/// Every top-level `define` of the embedded standard library, in file order.
std::vector<StdDefine> stdlib_defines();

}  // namespace whittle::lang
