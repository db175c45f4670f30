// Building, de-duplicating and ordering diagnostics.
#include "lang/diagnostic.h"

#include <algorithm>

#include "lang/codes.h"

namespace whittle::lang {

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::Error:
      return "error";
    case Severity::Warning:
      return "warning";
    case Severity::Note:
      return "note";
  }
  return "error";
}

Diagnostic Diagnostic::make(const std::string& code, Span span, std::string message, std::string label) {
  Diagnostic d;
  d.code = code;
  const CodeInfo* info = find_code(code);
  d.severity = info ? info->severity : Severity::Error;
  d.message = std::move(message);
  d.labels.push_back({span, std::move(label)});
  return d;
}

std::string Diagnostics::place(const std::string& code, const Span& s) {
  return code + ':' + std::to_string(s.file) + ':' + std::to_string(s.begin) + ':' + std::to_string(s.end);
}

void Diagnostics::add(Diagnostic d) {
  std::string where = place(d.code, d.primary());
  if (!seen_.insert(where + ':' + d.message).second) return;
  places_.insert(std::move(where));
  items_.push_back(std::move(d));
}

void Diagnostics::append(const Diagnostics& other) {
  for (const auto& d : other.items_) add(d);
}

std::size_t Diagnostics::count(Severity s) const {
  return static_cast<std::size_t>(
      std::count_if(items_.begin(), items_.end(), [s](const Diagnostic& d) { return d.severity == s; }));
}

void Diagnostics::sort() {
  std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    const Span& x = a.primary();
    const Span& y = b.primary();
    if (x.file != y.file) return x.file < y.file;
    return x.begin < y.begin;
  });
}

}  // namespace whittle::lang
