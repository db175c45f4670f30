// The documentation stays true: docs/diagnostics.md lists every diagnostic code, grammar.md every
// rule that has an error message, every link between the pages leads to a page and a heading that
// exist, every section the code cites by name exists, and the README stays a front door.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "lang/codes.h"

namespace fs = std::filesystem;

namespace {
const fs::path kRoot = WHITTLE_SOURCE_DIR;

std::string slurp(const fs::path& path) {
  std::ifstream in(path.is_absolute() ? path : kRoot / path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The README and every page of docs/.
std::vector<fs::path> pages() {
  std::vector<fs::path> out{kRoot / "README.md", kRoot / "lang" / "grammar.md"};
  for (const auto& e : fs::directory_iterator(kRoot / "docs"))
    if (e.path().extension() == ".md") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

/// A heading's anchor as GitHub makes it: lower case, spaces to hyphens, punctuation dropped.
std::string slug(const std::string& heading) {
  std::string out;
  for (const unsigned char c : heading) {
    if (std::isalnum(c) || c == '-' || c == '_' || c >= 0x80)
      out += static_cast<char>(std::tolower(c));
    else if (c == ' ')
      out += '-';
  }
  return out;
}

/// The headings of a markdown page (outside fenced blocks), without their `#`s.
std::vector<std::string> headings(const fs::path& page) {
  std::vector<std::string> out;
  std::istringstream in(slurp(page));
  bool fence = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("```", 0) == 0) fence = !fence;
    if (fence || line.empty() || line[0] != '#') continue;
    const auto text = line.find_first_not_of('#');
    if (text != std::string::npos && line[text] == ' ') out.push_back(line.substr(text + 1));
  }
  return out;
}

bool has_anchor(const fs::path& page, const std::string& anchor) {
  for (const auto& h : headings(page))
    if (slug(h) == anchor) return true;
  return false;
}
}  // namespace

TEST_CASE("docs/diagnostics.md lists every diagnostic code with its name and summary", "[docs]") {
  const std::string page = slurp("docs/diagnostics.md");
  for (const auto& c : whittle::lang::all_codes()) {
    const std::string row = std::string("| `") + c.code + "` | `" + c.name + "` | " + c.summary + " |";
    INFO(row);
    CHECK(page.find(row) != std::string::npos);
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

TEST_CASE("every link between the pages leads to a file and a heading that exist", "[docs]") {
  const std::regex link(R"(\]\(([^)\s]+)\))");
  int checked = 0;
  for (const auto& page : pages()) {
    const std::string text = slurp(page);
    for (std::sregex_iterator it(text.begin(), text.end(), link), end; it != end; ++it) {
      const std::string target = (*it)[1];
      if (target.rfind("http", 0) == 0 || target.rfind("mailto:", 0) == 0) continue;
      const auto hash = target.find('#');
      const std::string file = target.substr(0, hash),
                        anchor = hash == std::string::npos ? "" : target.substr(hash + 1);
      const fs::path to = file.empty() ? page : (page.parent_path() / file).lexically_normal();
      INFO(page.lexically_relative(kRoot).string() << ": " << target);
      CHECK(fs::exists(to));
      if (!anchor.empty() && fs::exists(to)) CHECK(has_anchor(to, anchor));
      ++checked;
    }
  }
  CHECK(checked > 20);  // the README's table of pages alone has more
}

TEST_CASE("every section the code and the docs cite by name exists", "[docs]") {
  // `docs/caching.md, "Carrying a cache to another machine"` or `README, "Dependencies"`, in a comment,
  // a message or a page: the page must have a heading that starts with the quoted words.
  const std::regex cite(R"re((README(?:\.md)?|docs/[a-z_-]+\.md), \\?"([^"\\]+)\\?")re");
  const std::set<std::string> exts{".cc", ".h", ".md", ".sh", ".py", ".recipe", ".txt", ".yaml"};
  int checked = 0;
  for (const char* dir : {"lang", "runtime", "stdlib", "scripts", "pipelines", "bench", "tests", "docs", "editors"}) {
    for (const auto& e : fs::recursive_directory_iterator(kRoot / dir)) {
      if (!e.is_regular_file() || !exts.count(e.path().extension().string())) continue;
      const std::string text = slurp(e.path());
      for (std::sregex_iterator it(text.begin(), text.end(), cite), end; it != end; ++it) {
        const std::string file = (*it)[1], section = (*it)[2];
        if (e.path().filename() == "test_docs.cc") continue;  // this file's own examples
        const fs::path page = kRoot / (file.rfind("README", 0) == 0 ? std::string("README.md") : file);
        INFO(e.path().lexically_relative(kRoot).string() << " cites " << file << ", \"" << section << "\"");
        bool found = false;
        if (fs::exists(page))
          for (const auto& h : headings(page)) found = found || h.rfind(section, 0) == 0;
        CHECK(found);
        ++checked;
      }
    }
  }
  CHECK(checked > 5);
}

TEST_CASE("the README is a front door: the manual lives in docs/", "[docs]") {
  std::istringstream in(slurp("README.md"));
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  INFO("README.md has " << lines << " lines: move reference material to a page of docs/ and link it");
  CHECK(lines <= 350);
  // The two set-up commands are there, as .ci/run and scripts/setup.sh know them.
  const std::string readme = slurp("README.md");
  CHECK(readme.find("scripts/setup.sh run") != std::string::npos);
  CHECK(readme.find("scripts/setup.sh test") != std::string::npos);
  CHECK(slurp(".ci/run").find("scripts/setup.sh test") != std::string::npos);
}
