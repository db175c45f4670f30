// Diagnostics are data: a code, a severity, a message, labelled spans, help and notes.
// Libraries collect them in a Diagnostics; only the CLI renders them (render.h).
#pragma once
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "lang/source.h"

namespace whittle::lang {

enum class Severity { Error, Warning, Note };
const char* severity_name(Severity s);

/// A span with a short text under it; the first label of a diagnostic is its primary location.
struct Label {
  Span span;
  std::string text;
};

struct Diagnostic {
  std::string code;  ///< E0xxx, W0xxx, N0xxx (see codes.h)
  Severity severity = Severity::Error;
  std::string message;
  std::vector<Label> labels;  ///< labels[0] is the primary location
  std::optional<std::string> help;
  std::vector<std::string> notes;

  const Span& primary() const { return labels.front().span; }

  /// A diagnostic whose severity follows from its code's entry in the code index.
  static Diagnostic make(const std::string& code, Span span, std::string message, std::string label = {});
  Diagnostic& with_label(Span span, std::string text) {
    labels.push_back({span, std::move(text)});
    return *this;
  }
  Diagnostic& with_help(std::string h) {
    help = std::move(h);
    return *this;
  }
  Diagnostic& with_note(std::string n) {
    notes.push_back(std::move(n));
    return *this;
  }
};

/// An ordered, de-duplicated collection. A stage inside `repeat 7` is checked seven times;
/// the same problem at the same place is reported once.
class Diagnostics {
 public:
  void add(Diagnostic d);
  /// Whether a diagnostic with this code already points here: lets a caller skip building one
  /// (with its suggestions) that a repeated round of the same statement would only duplicate.
  bool has(const std::string& code, const Span& at) const { return places_.count(place(code, at)) > 0; }
  void append(const Diagnostics& other);
  bool has_errors() const { return count(Severity::Error) > 0; }
  std::size_t count(Severity s) const;
  /// Sorts by file, then position, keeping insertion order for ties.
  void sort();
  const std::vector<Diagnostic>& all() const { return items_; }
  std::vector<Diagnostic>& all() { return items_; }
  bool empty() const { return items_.empty(); }

 private:
  static std::string place(const std::string& code, const Span& s);
  std::vector<Diagnostic> items_;
  std::unordered_set<std::string> seen_;
  std::unordered_set<std::string> places_;
};

}  // namespace whittle::lang
