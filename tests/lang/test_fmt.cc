// The formatter: canonical layout, idempotence, comments kept, meaning unchanged.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "lang/fmt.h"
#include "lang/parser.h"

using namespace whittle::lang;

namespace {
std::string fmt_text(const std::string& text) {
  SourceMap sm;
  const FileId f = sm.add("t.recipe", text);
  Diagnostics d;
  auto r = parse(sm, f, d);
  REQUIRE(d.empty());
  return format_recipe(r, sm.file(f));
}
std::string ast_of(const std::string& text) {
  SourceMap sm;
  const FileId f = sm.add("t.recipe", text);
  Diagnostics d;
  return ast::dump(parse(sm, f, d));
}
std::vector<std::string> comments_of(const std::string& text) {
  SourceMap sm;
  const FileId f = sm.add("t.recipe", text);
  Diagnostics d;
  std::vector<std::string> out;
  for (const auto& c : parse(sm, f, d).comments) out.push_back(c.text);
  return out;
}
void check_canonical(const std::string& text) {
  const std::string once = fmt_text(text);
  CHECK(fmt_text(once) == once);                  // idempotent
  CHECK(ast_of(once) == ast_of(text));            // same meaning
  CHECK(comments_of(once) == comments_of(text));  // every comment kept, in order
}
}  // namespace

TEST_CASE("fmt lays a recipe out canonically", "[fmt]") {
  CHECK(fmt_text("data   cifar10   augment:[crop( pad:4 ),flip]\n\n\n\nmodel resnet18;train 3  epochs\n") ==
        "data cifar10 augment: [crop(pad: 4), flip]\n\nmodel resnet18\ntrain 3 epochs\n");
  CHECK(fmt_text("repeat 7 { prune 20 % global ; retrain 60 epochs rewind:lr }\n") ==
        "repeat 7 {\n  prune 20% global\n  retrain 60 epochs rewind: lr\n}\n");
  CHECK(fmt_text("train 3 epochs ->\n   evaluate\n") == "train 3 epochs -> evaluate\n");
  CHECK(fmt_text("train 1 epochs\nquantize 1 bits binary\n") == "train 1 epoch\nquantize 1 bit binary\n");
  CHECK(fmt_text("train 3 epochs {batch: 64, clip: 5}\n") == "train 3 epochs {\n  batch: 64\n  clip: 5\n}\n");
  CHECK(fmt_text("define f( a : int=1 ,b:l1 | l2 ){prune 20%}\n") == "define f(a: int = 1, b: l1|l2) { prune 20% }\n");
  // A block of one plain chain stays on one line while it fits in 100 columns.
  CHECK(fmt_text("sweep p in [10%, 20%] {\n  prune $p -> evaluate\n}\n") ==
        "sweep p in [10%, 20%] { prune $p -> evaluate }\n");
  const std::string long_body =
      "prune $p global l1 -> evaluate metrics: [accuracy, loss, precision, recall, f1] latency: cpu";
  CHECK(fmt_text("sweep p in [10%, 20%] { " + long_body + " }\n") ==
        "sweep p in [10%, 20%] {\n  " + long_body + "\n}\n");
  CHECK(fmt_text("sweep a in 0%..80% by 10% {}\n") == "sweep a in 0%..80% by 10% {}\n");
}

TEST_CASE("fmt lays out a search and its choices; the parser reads every part", "[fmt][search]") {
  const std::string messy =
      "search   lowest params where accuracy>=80%  budget:3 seeds: 2 as  b {\nchoose a in [10%,20%]   monotone\n"
      "choose bits in [8 bits,4 bits]\nprune $a\nevaluate split: validation }\n";
  const std::string canonical =
      "search lowest params where accuracy >= 80% budget: 3 seeds: 2 as b {\n  choose a in [10%, 20%] monotone\n"
      "  choose bits in [8 bits, 4 bits]\n  prune $a\n  evaluate split: validation\n}\n";
  CHECK(fmt_text(messy) == canonical);
  check_canonical(messy);
  const std::string dumped = ast_of(canonical);
  INFO(dumped);
  CHECK(dumped.find("search lowest params where accuracy >= ") != std::string::npos);
  CHECK(dumped.find("budget") != std::string::npos);
  CHECK(dumped.find(") as b\n") != std::string::npos);
  CHECK(dumped.find("choose a in ") != std::string::npos);
  CHECK(dumped.find(" monotone\n") != std::string::npos);
  CHECK(
      fmt_text(
          "search lowest macs where latency <= 2 { choose w in [8, 16]; evaluate split: validation latency: cpu }\n") ==
      "search lowest macs where latency <= 2 {\n  choose w in [8, 16]\n  evaluate split: validation latency: cpu\n}\n");
}

TEST_CASE("fmt keeps every comment", "[fmt]") {
  const std::string text =
      "# header\nrecipe r  # named\n\n# before data\ndata cifar10\nrepeat 2 {  # rounds\n  # inside\n  prune 20%\n"
      "  # last inside\n}  # after\nmodel densenet blocks: [6,  # first\n  12]\n# end\n";
  check_canonical(text);
  CHECK(fmt_text(text) ==
        "# header\nrecipe r  # named\n\n# before data\ndata cifar10\nrepeat 2 {  # rounds\n  # inside\n  prune 20%\n"
        "  # last inside\n}  # after\nmodel densenet blocks: [6, 12]  # first\n# end\n");
}

TEST_CASE("fmt is idempotent on every shipped recipe and the stdlib", "[fmt]") {
  namespace fs = std::filesystem;
  int n = 0;
  for (const char* dir : {"pipelines", "stdlib/std", "tests/golden/diagnostics"}) {
    for (const auto& e : fs::directory_iterator(fs::path(WHITTLE_SOURCE_DIR) / dir)) {
      if (e.path().extension() != ".recipe") continue;
      std::ifstream in(e.path());
      std::stringstream ss;
      ss << in.rdbuf();
      SourceMap sm;
      Diagnostics d;
      parse(sm, sm.add("x", ss.str()), d);
      if (d.has_errors()) continue;  // fixtures of syntax errors
      INFO(e.path());
      check_canonical(ss.str());
      ++n;
    }
  }
  CHECK(n > 10);
}

TEST_CASE("shipped recipes are already canonical", "[fmt]") {
  namespace fs = std::filesystem;
  for (const char* dir : {"pipelines", "stdlib/std"}) {
    for (const auto& e : fs::directory_iterator(fs::path(WHITTLE_SOURCE_DIR) / dir)) {
      if (e.path().extension() != ".recipe") continue;
      std::ifstream in(e.path());
      std::stringstream ss;
      ss << in.rdbuf();
      INFO(e.path());
      CHECK(fmt_text(ss.str()) == ss.str());
    }
  }
}
