// The built-in catalog: stdlib/stages.yaml as the build compiled it (catalog_json.h), embedded.
#include "lang/catalog.h"
#include "stdlib/embedded.h"

namespace whittle::lang {

const Catalog& Catalog::builtin() {
  static const Catalog c = [] {
    for (const auto& f : stdlib::embedded_files())
      if (f.name == "stages.json") return load(f.text, "stdlib/stages.yaml (compiled)");
    throw CatalogError("stdlib/stages.yaml", 0, "not embedded in this build");
  }();
  return c;
}

}  // namespace whittle::lang
