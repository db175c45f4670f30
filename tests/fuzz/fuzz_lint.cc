// libFuzzer target over the whole front end: parse, `use`, check, lint, the formatter, and what
// the language server computes per keystroke (the document opened, then hover, completion,
// definition, symbols, formatting and quick fixes at positions the input picks).
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
#include "runtime/lsp/positions.h"
#include "runtime/lsp/server.h"
#include "tests/fuzz/expand.h"

using namespace whittle::lang;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string text = whittle::fuzz::expand(std::string(reinterpret_cast<const char*>(data), size));
  CheckOptions options;
  options.max_stages = 10000;  // the same bounding code path as the default 100000, explored faster
  auto a = analyze("fuzz.recipe", text, options);
  (void)a->recipe.stages.size();

  {  // The server on the same text: every answer well-formed, none a crash.
    using whittle::lsp::json;
    whittle::lsp::Server server;
    server.previews().enabled = false;
    const std::string uri = "file:///fuzz/fuzz.recipe";
    server.handle({{"jsonrpc", "2.0"}, {"id", 0}, {"method", "initialize"}, {"params", json::object()}});
    auto opened = server.handle({{"jsonrpc", "2.0"},
                                 {"method", "textDocument/didOpen"},
                                 {"params", {{"textDocument", {{"uri", uri}, {"version", 1}, {"text", text}}}}}});
    json diags = json::array();
    for (const auto& m : opened)
      if (m.value("method", "") == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri)
        diags = m["params"]["diagnostics"];
    int id = 1;
    for (std::size_t k = 0; k < 4; ++k) {
      const std::size_t at = text.empty() ? 0 : (size * 2654435761u + k * 40503u) % (text.size() + 1);
      const json pos = whittle::lsp::position_of(text, at);
      for (const char* m : {"textDocument/hover", "textDocument/completion", "textDocument/definition"}) {
        auto r = server.handle({{"jsonrpc", "2.0"},
                                {"id", id++},
                                {"method", m},
                                {"params", {{"textDocument", {{"uri", uri}}}, {"position", pos}}}});
        if (r.size() != 1 || !(r[0].contains("result") || r[0].contains("error"))) std::abort();
      }
    }
    for (const char* m : {"textDocument/documentSymbol", "textDocument/formatting"})
      if (server
              .handle({{"jsonrpc", "2.0"}, {"id", id++}, {"method", m}, {"params", {{"textDocument", {{"uri", uri}}}}}})
              .size() != 1)
        std::abort();
    server.handle({{"jsonrpc", "2.0"},
                   {"id", id++},
                   {"method", "textDocument/codeAction"},
                   {"params", {{"textDocument", {{"uri", uri}}}, {"context", {{"diagnostics", diags}}}}}});
  }

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
