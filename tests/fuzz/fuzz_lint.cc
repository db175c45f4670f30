// libFuzzer target over the whole front end: parse, `use`, check, lint, and the formatter.
// Beyond "no crash, hang or sanitizer report", it asserts fmt's promises on every input that
// parses: the formatted text parses, means the same (same AST), and formats to itself.
// Run with scripts/fuzz.sh.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "lang/analyze.h"
#include "lang/fmt.h"
#include "lang/parser.h"
#include "tests/fuzz/expand.h"

using namespace whittle::lang;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string text = whittle::fuzz::expand(std::string(reinterpret_cast<const char*>(data), size));
  CheckOptions options;
  options.max_stages = 10000;  // the same bounding code path as the default 100000, explored faster
  auto a = analyze("fuzz.recipe", text, options);
  (void)a->recipe.stages.size();

  SourceMap sm;
  Diagnostics d;
  const FileId f = sm.add("fuzz.recipe", text);
  const ast::Recipe r = parse(sm, f, d);
  if (d.has_errors()) return 0;
  const std::string once = format_recipe(r, sm.file(f));
  Diagnostics d2;
  const FileId g = sm.add("once.recipe", once);
  const ast::Recipe r2 = parse(sm, g, d2);
  if (d2.has_errors() || ast::dump(r2) != ast::dump(r)) {
    std::fprintf(stderr, "fmt changed the meaning:\n--- input\n%s\n--- formatted\n%s\n", text.c_str(), once.c_str());
    std::abort();
  }
  if (format_recipe(r2, sm.file(g)) != once) {
    std::fprintf(stderr, "fmt is not idempotent:\n--- formatted\n%s\n", once.c_str());
    std::abort();
  }
  return 0;
}
