// The rooms of runtime/ (docs/architecture.md, "Layout"): every source file is in one, and includes
// only its own room's headers and those of the rooms before it, in the order a recipe goes through
// them. An include that runs back up fails here with the file and the line.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

// The order of the rooms: docs/architecture.md lists them so.
const std::vector<std::string> kRooms = {
    "system",         "cache",        "plan",         "torch/data", "torch/models", "torch/compression",
    "torch/training", "torch/export", "torch/stages", "torch",      "exec",         "report",
    "submit",         "packs",        "lsp",          "cli"};

/// The room of a path under runtime/ ("torch/stages/preview.h" → "torch/stages"); "" at the top.
std::string room_of(const std::string& rel) {
  const auto slash = rel.find('/');
  if (slash == std::string::npos) return "";
  const std::string first = rel.substr(0, slash);
  if (first != "torch") return first;
  const auto second = rel.find('/', slash + 1);
  return second == std::string::npos ? "torch" : rel.substr(0, second);
}

int rank(const std::string& room) {
  const auto it = std::find(kRooms.begin(), kRooms.end(), room);
  return it == kRooms.end() ? -1 : static_cast<int>(it - kRooms.begin());
}

}  // namespace

TEST_CASE("runtime/: every file in a room, no include back up the rooms", "[layers]") {
  const fs::path root = fs::path(WHITTLE_SOURCE_DIR) / "runtime";
  const std::regex include(R"re(^\s*#\s*include\s+"runtime/([^"]+)")re");
  int files = 0, includes = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string ext = e.path().extension().string();
    if (!e.is_regular_file() || (ext != ".h" && ext != ".cc")) continue;
    const std::string rel = fs::relative(e.path(), root).generic_string();
    const std::string room = room_of(rel);
    INFO("runtime/" << rel);
    REQUIRE(rank(room) >= 0);  // a new folder belongs in kRooms and in docs/architecture.md
    ++files;
    std::ifstream in(e.path());
    int line_no = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_no;
      std::smatch m;
      if (!std::regex_search(line, m, include)) continue;
      ++includes;
      const std::string target = m[1].str();
      INFO("line " << line_no << ": includes runtime/" << target);
      CHECK(fs::exists(root / target));
      CHECK(rank(room_of(target)) <= rank(room));
    }
  }
  CHECK(files > 150);
  CHECK(includes > 300);
}
