// Formatting (whittle fmt) and quick fixes from diagnostics whose help names a replacement (server.h).
#include <regex>

#include "lang/fmt.h"
#include "runtime/lsp/positions.h"
#include "runtime/lsp/server.h"

namespace whittle::lsp {

json formatting(const Document& d) {
  if (!d.analysis || d.analysis->program.syntax_errors)
    return json::array();  // fmt does not rewrite what does not parse
  const lang::Analysis& a = *d.analysis;
  const std::string formatted = lang::format_recipe(a.program.main().recipe, a.sources.file(a.main));
  if (formatted == d.text) return json::array();
  return json::array({{{"range", range_of(d.text, 0, d.text.size())}, {"newText", formatted}}});
}

json code_actions(const Document& d, const json& params) {
  json out = json::array();
  const json& ctx = params.value("context", json::object());
  const json diags = ctx.is_object() ? ctx.value("diagnostics", json::array()) : json::array();
  if (!diags.is_array()) return out;
  static const std::regex mean(R"(did you mean `([^`]+)`\?)");
  for (const json& diag : diags) {
    if (!diag.is_object() || !diag.contains("range")) continue;
    std::string help;
    if (diag.contains("data") && diag["data"].is_object() && diag["data"].value("help", json()).is_string())
      help = diag["data"]["help"];
    else if (diag.value("message", json()).is_string())
      help = diag["message"];
    std::smatch m;
    if (!std::regex_search(help, m, mean)) continue;
    const std::size_t a = offset_of(d.text, diag["range"].value("start", json())),
                      b = offset_of(d.text, diag["range"].value("end", json()));
    if (b <= a) continue;
    const std::string was = d.text.substr(a, b - a);
    out.push_back(
        {{"title", "change `" + was + "` to `" + m[1].str() + "`"},
         {"kind", "quickfix"},
         {"diagnostics", json::array({diag})},
         {"isPreferred", true},
         {"edit", {{"changes", {{d.uri, json::array({{{"range", diag["range"]}, {"newText", m[1].str()}}})}}}}}});
  }
  return out;
}

}  // namespace whittle::lsp
