// Golden tests for diagnostics.
//  * diagnostics/CODE_name.recipe: one fixture per diagnostic code, with its exact rendering in
//    CODE_name.expected. The fixture must produce its code; any other diagnostic shows up in the diff.
//  * cases.recipes: many small cases, separated by `### name` lines, with inline expectations:
//    `# expect: E0201, W0004` at the end of a line, or `# ^ expect: E0004` on the line after it. Every
//    error and warning must be expected (notes only in a case that expects a note).
// WHITTLE_REGEN=1 rewrites the .expected files from what whittle prints now: review the diff.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "lang/analyze.h"
#include "lang/codes.h"
#include "lang/render.h"

namespace fs = std::filesystem;
using namespace whittle::lang;

namespace {

const fs::path kDir = fs::path(WHITTLE_SOURCE_DIR) / "tests" / "golden";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Renders every diagnostic of a fixture, analysed from inside its folder so that paths are short.
std::string render_fixture(const fs::path& file, std::set<std::string>& codes) {
  const fs::path old = fs::current_path();
  fs::current_path(file.parent_path());
  auto a = analyze_file(file.filename().string());
  fs::current_path(old);
  std::string out;
  for (const auto& d : a->diags.all()) {
    out += render_full(d, a->sources) + "\n";
    codes.insert(d.code);
  }
  return out;
}

}  // namespace

TEST_CASE("every diagnostic fixture renders exactly as its snapshot", "[golden]") {
  const bool regen = std::getenv("WHITTLE_REGEN") != nullptr;
  int n = 0;
  for (const auto& e : fs::directory_iterator(kDir / "diagnostics")) {
    if (e.path().extension() != ".recipe") continue;
    const std::string stem = e.path().stem().string();
    if (stem.size() < 5 || stem[0] == '_') continue;  // helper files used by fixtures
    ++n;
    std::set<std::string> codes;
    const std::string got = render_fixture(e.path(), codes);
    fs::path expected = e.path();
    expected.replace_extension(".expected");
    INFO("fixture " << e.path().filename().string());
    CHECK(codes.count(stem.substr(0, 5)) == 1);
    if (regen) {
      std::ofstream(expected, std::ios::binary) << got;
      continue;
    }
    REQUIRE(fs::exists(expected));
    CHECK(got == slurp(expected));
  }
  CHECK(n >= 30);
}

TEST_CASE("every diagnostic code has a fixture", "[golden]") {
  std::set<std::string> have;
  for (const auto& e : fs::directory_iterator(kDir / "diagnostics")) have.insert(e.path().stem().string().substr(0, 5));
  for (const CodeInfo& c : all_codes()) {
    if (c.code[0] == 'R') continue;  // runtime problems are tested in tests/runtime
    INFO("code " << c.code);
    CHECK(have.count(c.code) == 1);
  }
}

TEST_CASE("the chunked cases produce exactly the diagnostics they expect", "[golden]") {
  const std::string text = slurp(kDir / "cases.recipes");
  static const std::regex trailing(R"(#\s*expect:\s*([A-Z0-9, ]+)\s*$)");
  static const std::regex after(R"(^\s*#\s*\^\s*expect:\s*([A-Z0-9, ]+)\s*$)");
  std::vector<std::pair<std::string, std::string>> chunks;  // name, text
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("### ", 0) == 0)
      chunks.emplace_back(line.substr(4), "");
    else if (!chunks.empty())
      chunks.back().second += line + "\n";
  }
  REQUIRE(chunks.size() >= 40);
  for (const auto& [name, body] : chunks) {
    std::multiset<std::string> expected;
    std::stringstream lines(body);
    int n = 0, last_code_line = 0;
    bool wants_notes = false;
    while (std::getline(lines, line)) {
      ++n;
      std::smatch m;
      int target = 0;
      if (std::regex_search(line, m, after))
        target = last_code_line;
      else if (std::regex_search(line, m, trailing))
        target = n;
      if (target) {
        std::stringstream codes(m[1].str());
        std::string c;
        while (std::getline(codes, c, ',')) {
          c.erase(std::remove(c.begin(), c.end(), ' '), c.end());
          if (c.empty()) continue;
          wants_notes = wants_notes || c[0] == 'N';
          expected.insert(c + "@" + std::to_string(target));
        }
      }
      const auto p = line.find_first_not_of(" \t");
      if (p != std::string::npos && line[p] != '#') last_code_line = n;
    }
    auto a = analyze("cases/" + name + ".recipe", body);
    std::multiset<std::string> got;
    std::string rendered;
    for (const auto& d : a->diags.all()) {
      if (d.severity == Severity::Note && !wants_notes) continue;
      got.insert(d.code + "@" + std::to_string(a->sources.file(d.primary().file).line_of(d.primary().begin)));
      rendered += render_concise(d, a->sources) + "\n";
    }
    INFO("case `" << name << "`:\n" << rendered);
    CHECK(std::vector<std::string>(got.begin(), got.end()) ==
          std::vector<std::string>(expected.begin(), expected.end()));
  }
}
