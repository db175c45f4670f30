// whittle's diagnostics as LSP's: code, severity, range, related locations, help (server.h).
#include <fmt/format.h>

#include <filesystem>

#include "runtime/lsp/positions.h"
#include "runtime/lsp/server.h"

namespace whittle::lsp {

namespace {

/// A file of the analysis as the editor names it; "" for the embedded standard library.
std::string uri_of_file(const lang::SourceFile& f) {
  if (f.name().rfind("<", 0) == 0) return "";
  return uri_of_path(f.name());
}

}  // namespace

std::map<std::string, json> diagnostics_by_uri(const lang::Analysis& a) {
  std::map<std::string, json> out;
  std::map<lang::FileId, LineIndex> lines;  // each file's line starts, found once
  auto range = [&](const lang::Span& s) {
    auto it = lines.find(s.file);
    if (it == lines.end()) it = lines.emplace(s.file, LineIndex(a.sources.file(s.file).text())).first;
    return it->second.range(s.begin, s.end);
  };
  for (std::size_t i = 0; i < a.sources.size(); ++i) {
    const std::string u = uri_of_file(a.sources.file(static_cast<lang::FileId>(i)));
    if (!u.empty()) out[u] = json::array();
  }
  for (const lang::Diagnostic& d : a.diags.all()) {
    if (d.labels.empty()) continue;
    const lang::SourceFile& f = a.sources.file(d.primary().file);
    const std::string u = uri_of_file(f);
    if (u.empty()) continue;
    std::string message = d.message;
    for (const auto& n : d.notes) message += "\nnote: " + n;
    if (d.help) message += "\nhelp: " + *d.help;
    json diag = {{"range", range(d.primary())},
                 {"severity", d.severity == lang::Severity::Error ? 1 : d.severity == lang::Severity::Warning ? 2 : 3},
                 {"code", d.code},
                 {"source", "whittle"},
                 {"message", message}};
    json related = json::array();
    // At most 16 related locations (a chain of 64 nested calls labels every one of them).
    constexpr std::size_t kMaxRelated = 16;
    if (d.labels.size() > kMaxRelated + 1) diag["message"] = message + fmt::format("\n({} more places, in `whittle lint`)", d.labels.size() - 1 - kMaxRelated);
    for (std::size_t l = 0; l < d.labels.size() && l <= kMaxRelated; ++l) {
      const lang::Label& label = d.labels[l];
      const lang::SourceFile& lf = a.sources.file(label.span.file);
      const std::string lu = uri_of_file(lf);
      if (lu.empty() || (l == 0 && label.text.empty())) continue;
      related.push_back({{"location", {{"uri", lu}, {"range", range(label.span)}}},
                         {"message", label.text.empty() ? d.message : label.text}});
    }
    if (!related.empty()) diag["relatedInformation"] = std::move(related);
    if (d.help) diag["data"] = {{"help", *d.help}};
    out[u].push_back(std::move(diag));
  }
  return out;
}

}  // namespace whittle::lsp
