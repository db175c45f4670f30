// The stage catalog and the standard recipe library, embedded into the binary at build time.
#pragma once
#include <string_view>
#include <vector>

namespace whittle::stdlib {

/// One file of stdlib/, named by its path relative to stdlib/ (e.g. "stages.yaml", "std/rewinding.recipe").
struct EmbeddedFile {
  std::string_view name;
  std::string_view text;
};

/// Every embedded file, in the order stdlib/CMakeLists.txt lists them.
const std::vector<EmbeddedFile>& embedded_files();

}  // namespace whittle::stdlib
