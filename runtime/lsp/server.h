// `whittle lsp`: the Language Server Protocol over JSON-RPC. The server is a function of the
// messages it gets: handle() takes one message and returns what to send back (responses and
// notifications such as published diagnostics), so it is tested without a process or a pipe;
// serve() is the stdio loop around it.
#pragma once
#include <istream>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lang/analyze.h"
#include "runtime/lsp/preview.h"

namespace whittle::lsp {

using json = nlohmann::json;

/// The largest document the server analyses (a recipe is a few KB; the standard library 20 KB).
inline constexpr std::size_t kMaxDocument = 1u << 20;

/// An open document and its latest analysis.
struct Document {
  std::string uri, path, text;
  std::int64_t version = 0;
  std::shared_ptr<lang::Analysis> analysis;  ///< of `text`, with the open documents it uses as they are in the editor
  std::map<std::string, json> diagnostics;   ///< its analysis's diagnostics by the URI of the file they are in
  std::size_t oversize = 0;                  ///< the size of a text over kMaxDocument (then neither kept nor analysed)
};

class Server {
 public:
  /// One message in (a request, a notification or a response); the messages to send out. With
  /// `more_waiting` (more input is there already) the analyses a change asks for wait for the next
  /// message: a burst of changes is analysed once.
  std::vector<json> handle(const json& message, bool more_waiting = false);
  /// Runs the analyses that wait, publishing their diagnostics.
  void flush(std::vector<json>& out);
  /// A body that is not JSON: the parse error response.
  static json parse_error(const std::string& why);
  bool exited() const { return exited_; }
  /// The exit code `exit` asks for: 0 after `shutdown`, 1 without.
  int exit_code() const { return shutdown_ ? 0 : 1; }
  const Document* document(const std::string& uri) const;
  Previews& previews() { return previews_; }

 private:
  std::vector<json> handle_one(const json& message);
  /// A document's new text: kept and put in the overlay, or (over kMaxDocument) dropped.
  void set_text(Document& d, std::string text);
  json request(const std::string& method, const json& params, std::vector<json>& out);
  void notification(const std::string& method, const json& params, std::vector<json>& out);
  /// Re-analyses `uri` and every open document that uses it; publishes what changed.
  void changed(const std::string& uri, std::vector<json>& out);
  void analyse(Document& d);
  /// analyse(), adding to `touched` the URIs its diagnostics were and are in.
  void reanalyse(Document& d, std::set<std::string>& touched);
  /// Re-analyses the open documents (but `except`) that use the file at `path`.
  void reanalyse_users(const std::string& path, const std::string& except, std::set<std::string>& touched);
  /// Publishes, for each of `uris`, what the open documents' analyses found in it (a file used by
  /// two open recipes gets both's, once each).
  void publish(const std::set<std::string>& uris, std::vector<json>& out);

  std::map<std::string, Document> docs_;
  std::map<std::string, std::string> overlay_;  ///< the open documents' texts by path, which every analysis reads
  std::set<std::string> pending_;               ///< documents changed and not analysed yet
  Previews previews_;
  bool initialized_ = false, shutdown_ = false, exited_ = false;
};

/// Reads framed messages from `in` until `exit` or the end of the stream, answering on `out`.
/// Returns the process's exit code.
int serve(std::istream& in, std::ostream& out);

// The features, one file each (hover.cc, completion.cc, navigate.cc, edits.cc): `params` as the
// request gives them, the answer's `result`.
json hover(const Document& d, const json& params, Previews& previews);
json completion(const Document& d, const json& params);
json document_symbols(const Document& d);
json definition(const Document& d, const json& params);
json formatting(const Document& d);
json code_actions(const Document& d, const json& params);
/// The diagnostics of an analysis by the URI of the file they point into (every file analysed
/// gets an entry, empty when clean, so fixed problems are cleared).
std::map<std::string, json> diagnostics_by_uri(const lang::Analysis& a);

}  // namespace whittle::lsp
