// Build step: reads and checks stdlib/stages.yaml, and writes it as the JSON that whittle embeds
// (lang/catalog_json.h). A mistake in the catalog fails the build at its file and line.
//   whittle_catalog_compile stages.yaml stages.json
#include <cstdio>
#include <fstream>
#include <sstream>

#include "lang/catalog.h"
#include "lang/catalog_json.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s STAGES.yaml OUT.json\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "%s: cannot read it\n", argv[1]);
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    const auto catalog = whittle::lang::Catalog::load(text.str(), argv[1]);
    const std::string tmp = std::string(argv[2]) + ".tmp";
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << whittle::lang::catalog_to_json(catalog);
    out.close();
    if (!out || std::rename(tmp.c_str(), argv[2]) != 0) {
      std::fprintf(stderr, "%s: cannot write it\n", argv[2]);
      return 1;
    }
  } catch (const whittle::lang::CatalogError& e) {
    std::fprintf(stderr, "%s\n", e.what());  // FILE:LINE: what is wrong
    return 1;
  }
  return 0;
}
