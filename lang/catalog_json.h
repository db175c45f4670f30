// The stage catalog compiled: stdlib/stages.yaml is read and checked once, at build time
// (stdlib/catalog_compile.cc: a mistake in it is a build error at its line), and embedded as JSON,
// which every whittle command reads in well under a millisecond (yaml-cpp took 8-10 ms of each
// `whittle lint`). The JSON holds every field of the catalog, lines included, so that a catalog read
// from it equals the one read from the YAML (tests/lang/test_catalog.cc).
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lang/catalog.h"

namespace whittle::lang {

/// What a catalog is made of.
struct CatalogParts {
  std::vector<StageDef> stages;
  std::vector<Family> families;
  std::vector<CallDef> layers;
  std::vector<std::pair<std::string, std::string>> aliases;
};

/// The catalog as JSON (an object whose "compiled" member says so).
std::string catalog_to_json(const Catalog& c);
/// Whether `text` is a compiled catalog rather than YAML.
bool is_compiled_catalog(std::string_view text);
/// Reads a compiled catalog; throws CatalogError naming `file_name` when it is not one.
CatalogParts catalog_parts_from_json(std::string_view text, const std::string& file_name);

}  // namespace whittle::lang
