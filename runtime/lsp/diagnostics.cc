// whittle's diagnostics as LSP's: code, severity, range, related locations, help (server.h).
#include <fmt/format.h>

#include <filesystem>

#include "runtime/lsp/positions.h"
#include "runtime/lsp/server.h"

namespace whittle::lsp {

namespace {

/// A file of the analysis as the editor names it; "" for the embedded standard library.
std::string uri_of_file(const lang::SourceFile& f) {
  const std::string& name = f.name();
  if (name.rfind("<", 0) == 0) return "";
  // A document the editor has no file for (`untitled:Untitled-1`) is analysed under its URI: it is
  // published under that URI again, never as a file of the current folder.
  const std::size_t colon = name.find(':');
  if (colon != std::string::npos && colon > 1 && name.find('/') > colon) return name;
  return uri_of_path(name);
}

/// A diagnostic's message, at most kMaxMessage bytes (a 3 MB word quoted in it is cut, whole
/// UTF-8 characters kept).
std::string capped(std::string message) {
  constexpr std::size_t kMaxMessage = 2000;
  if (message.size() <= kMaxMessage) return message;
  std::size_t cut = kMaxMessage;
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
  message.resize(cut);
  return message + "… (cut; `whittle lint` prints it whole)";
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
  // At most kMaxPublished per file (30,000 errors of a broken 200 KB buffer were 20 MB of JSON on
  // every keystroke); the rest are counted in one last diagnostic.
  constexpr std::size_t kMaxPublished = 500;
  std::map<std::string, std::size_t> left_out;
  for (const lang::Diagnostic& d : a.diags.all()) {
    if (d.labels.empty()) continue;
    const lang::SourceFile& f = a.sources.file(d.primary().file);
    const std::string u = uri_of_file(f);
    if (u.empty()) continue;
    if (out[u].size() >= kMaxPublished) {
      ++left_out[u];
      continue;
    }
    std::string message = d.message;
    for (const auto& n : d.notes) message += "\nnote: " + n;
    if (d.help) message += "\nhelp: " + *d.help;
    json diag = {{"range", range(d.primary())},
                 {"severity", d.severity == lang::Severity::Error     ? 1
                              : d.severity == lang::Severity::Warning ? 2
                                                                      : 3},
                 {"code", d.code},
                 {"source", "whittle"},
                 {"message", capped(message)}};
    json related = json::array();
    // At most 16 related locations (a chain of 64 nested calls labels every one of them).
    constexpr std::size_t kMaxRelated = 16;
    if (d.labels.size() > kMaxRelated + 1)
      diag["message"] =
          capped(message) + fmt::format("\n({} more places, in `whittle lint`)", d.labels.size() - 1 - kMaxRelated);
    for (std::size_t l = 0; l < d.labels.size() && l <= kMaxRelated; ++l) {
      const lang::Label& label = d.labels[l];
      const lang::SourceFile& lf = a.sources.file(label.span.file);
      const std::string lu = uri_of_file(lf);
      if (lu.empty() || (l == 0 && label.text.empty())) continue;
      related.push_back({{"location", {{"uri", lu}, {"range", range(label.span)}}},
                         {"message", capped(label.text.empty() ? d.message : label.text)}});
    }
    if (!related.empty()) diag["relatedInformation"] = std::move(related);
    if (d.help) diag["data"] = {{"help", capped(*d.help)}};
    out[u].push_back(std::move(diag));
  }
  for (const auto& [u, n] : left_out) {
    json last = out[u].back();
    last["severity"] = 3;
    last.erase("code");
    last.erase("relatedInformation");
    last.erase("data");
    last["message"] = fmt::format("{} more problems in this file, not shown here: `whittle lint` lists them all", n);
    out[u].push_back(std::move(last));
  }
  return out;
}

}  // namespace whittle::lsp
