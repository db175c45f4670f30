// The server's dispatch, documents and diagnostics (server.h).
#include "runtime/lsp/server.h"

#include <fmt/format.h>

#include <filesystem>

#include "runtime/lsp/jsonrpc.h"
#include "runtime/lsp/positions.h"

#ifndef WHITTLE_VERSION
#define WHITTLE_VERSION "0"
#endif

namespace whittle::lsp {

namespace {

json error_response(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

struct RpcError {
  int code;
  std::string message;
};

const json& field(const json& params, const char* name) {
  static const json null;
  return params.is_object() && params.contains(name) ? params[name] : null;
}

std::string uri_param(const json& params) {
  const json& td = field(params, "textDocument");
  const json& uri = field(td, "uri");
  if (!uri.is_string()) throw RpcError{-32602, "textDocument.uri is missing"};
  return uri.get<std::string>();
}

json capabilities() {
  return {{"textDocumentSync", {{"openClose", true}, {"change", 1}, {"save", {{"includeText", false}}}}},
          {"hoverProvider", true},
          {"completionProvider", {{"triggerCharacters", {"$", ":", "(", " "}}}},
          {"documentFormattingProvider", true},
          {"documentSymbolProvider", true},
          {"definitionProvider", true},
          {"codeActionProvider", {{"codeActionKinds", {"quickfix"}}}}};
}

}  // namespace

json Server::parse_error(const std::string& why) {
  return error_response(nullptr, -32700, "not a JSON-RPC message: " + why);
}

const Document* Server::document(const std::string& uri) const {
  auto it = docs_.find(uri);
  return it == docs_.end() ? nullptr : &it->second;
}

std::vector<json> Server::handle(const json& message, bool more_waiting) {
  std::vector<json> out = handle_one(message);
  // Analyses wait while more messages are already waiting (a burst of changes is analysed once, at
  // its end); a request is answered on fresh analyses (handle_one flushes before it).
  if (!more_waiting) flush(out);
  return out;
}

std::vector<json> Server::handle_one(const json& message) {
  std::vector<json> out;
  if (!message.is_object()) {
    out.push_back(error_response(nullptr, -32600, "a message is a JSON object"));
    return out;
  }
  const bool has_id = message.contains("id") && (message["id"].is_number_integer() || message["id"].is_string());
  const json id = has_id ? message["id"] : json(nullptr);
  if (!message.contains("method") || !message["method"].is_string()) {
    if (!message.contains("result") && !message.contains("error"))
      out.push_back(error_response(id, -32600, "a request has a method"));
    return out;  // a response to something we never asked: nothing to do
  }
  const std::string method = message["method"];
  const json params = message.contains("params") ? message["params"] : json::object();
  try {
    if (!message.contains("id")) {
      if (initialized_ || method == "exit") notification(method, params, out);  // before `initialize`: dropped
      return out;
    }
    if (!initialized_ && method != "initialize")
      throw RpcError{-32002, "the server is not initialized: send `initialize` first"};
    if (shutdown_ && method != "exit") throw RpcError{-32600, "the server is shut down"};
    flush(out);
    json result = request(method, params, out);
    out.push_back({{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
  } catch (const RpcError& e) {
    if (message.contains("id")) out.push_back(error_response(id, e.code, e.message));
  } catch (const std::exception& e) {
    if (message.contains("id"))
      out.push_back(error_response(id, -32603, std::string("whittle could not answer: ") + e.what()));
  }
  return out;
}

json Server::request(const std::string& method, const json& params, std::vector<json>& out) {
  (void)out;
  if (method == "initialize") {
    initialized_ = true;
    return {{"capabilities", capabilities()}, {"serverInfo", {{"name", "whittle"}, {"version", WHITTLE_VERSION}}}};
  }
  if (method == "shutdown") {
    shutdown_ = true;
    return nullptr;
  }
  const bool on_document = method.rfind("textDocument/", 0) == 0;
  if (!on_document) throw RpcError{-32601, "whittle does not answer `" + method + "`"};
  const std::string uri = uri_param(params);
  const Document* d = document(uri);
  if (!d || !d->analysis) return nullptr;  // not open (or too large to analyse): nothing known about it
  if (method == "textDocument/hover") return hover(*d, params, previews_);
  if (method == "textDocument/completion") return completion(*d, params);
  if (method == "textDocument/documentSymbol") return document_symbols(*d);
  if (method == "textDocument/definition") return definition(*d, params);
  if (method == "textDocument/formatting") return formatting(*d);
  if (method == "textDocument/codeAction") return code_actions(*d, params);
  throw RpcError{-32601, "whittle does not answer `" + method + "`"};
}

void Server::notification(const std::string& method, const json& params, std::vector<json>& out) {
  if (method == "exit") {
    exited_ = true;
    return;
  }
  if (method == "textDocument/didOpen") {
    const json& td = field(params, "textDocument");
    const json &uri = field(td, "uri"), &text = field(td, "text");
    if (!uri.is_string() || !text.is_string()) return;
    Document& d = docs_[uri.get<std::string>()];
    d.uri = uri;
    d.path = path_of_uri(d.uri);
    if (d.path.empty()) d.path = d.uri;
    set_text(d, text.get<std::string>());
    d.version = field(td, "version").is_number_integer() ? field(td, "version").get<std::int64_t>() : 0;
    pending_.insert(d.uri);
  } else if (method == "textDocument/didChange") {
    const json& td = field(params, "textDocument");
    const json& uri = field(td, "uri");
    const json& changes = field(params, "contentChanges");
    if (!uri.is_string() || !changes.is_array() || changes.empty()) return;
    auto it = docs_.find(uri.get<std::string>());
    if (it == docs_.end()) return;
    std::string text = it->second.text;
    for (const json& c : changes) {
      if (!c.is_object() || !c.contains("text") || !c["text"].is_string()) continue;
      if (c.contains("range")) {            // an incremental change, though full sync was asked for
        if (it->second.oversize) continue;  // its text was not kept: only a whole new text helps
        const std::size_t a = offset_of(text, c["range"].value("start", json())),
                          b = offset_of(text, c["range"].value("end", json()));
        text.replace(std::min(a, b), b > a ? b - a : 0, c["text"].get<std::string>());
      } else {
        text = c["text"];
      }
      if (text.size() > kMaxDocument) break;
    }
    set_text(it->second, std::move(text));
    if (field(td, "version").is_number_integer()) it->second.version = field(td, "version");
    pending_.insert(it->first);
  } else if (method == "textDocument/didClose") {
    const json& uri = field(field(params, "textDocument"), "uri");
    if (!uri.is_string()) return;
    auto it = docs_.find(uri.get<std::string>());
    if (it == docs_.end()) return;
    std::set<std::string> touched;
    for (const auto& [u, diags] : it->second.diagnostics) touched.insert(u);
    const std::string path = it->second.path;
    overlay_.erase(path);
    pending_.erase(it->first);
    docs_.erase(it);
    reanalyse_users(path, "", touched);  // they read it from disk again
    publish(touched, out);
  } else if (method == "textDocument/didSave") {
    const json& uri = field(field(params, "textDocument"), "uri");
    if (uri.is_string() && docs_.count(uri.get<std::string>())) pending_.insert(uri.get<std::string>());
  }
  // Anything else ($/cancelRequest, initialized, workspace notifications): nothing to do.
}

void Server::reanalyse(Document& d, std::set<std::string>& touched) {
  for (const auto& [u, diags] : d.diagnostics) touched.insert(u);  // what it found before: cleared where gone
  analyse(d);
  for (const auto& [u, diags] : d.diagnostics) touched.insert(u);
}

void Server::reanalyse_users(const std::string& path, const std::string& except, std::set<std::string>& touched) {
  for (auto& [u, d] : docs_) {
    if (u == except || !d.analysis) continue;
    for (std::size_t i = 1; i < d.analysis->sources.size(); ++i)
      if (d.analysis->sources.file(static_cast<lang::FileId>(i)).name() == path) {
        reanalyse(d, touched);
        break;
      }
  }
}

void Server::changed(const std::string& uri, std::vector<json>& out) {
  std::set<std::string> touched;
  Document& d = docs_.at(uri);
  reanalyse(d, touched);
  reanalyse_users(d.path, uri, touched);
  publish(touched, out);
}

void Server::analyse(Document& d) {
  if (d.oversize) {  // kept, never analysed: one diagnostic says why
    d.analysis.reset();
    d.diagnostics.clear();
    json diag = {
        {"range", {{"start", {{"line", 0}, {"character", 0}}}, {"end", {{"line", 0}, {"character", 0}}}}},
        {"severity", 2},
        {"source", "whittle"},
        {"message",
         fmt::format("this document is {} bytes, more than the {} MiB whittle analyses in an editor; `whittle lint` "
                     "checks it from the command line",
                     d.oversize, kMaxDocument >> 20)}};
    d.diagnostics[d.uri] = json::array({diag});
    return;
  }
  lang::CheckOptions options;
  options.overlay = &overlay_;
  d.analysis = lang::analyze(d.path, d.text, options);
  d.diagnostics = diagnostics_by_uri(*d.analysis);
}

void Server::set_text(Document& d, std::string text) {
  overlay_.erase(d.path);
  d.oversize = text.size() > kMaxDocument ? text.size() : 0;
  d.text = d.oversize ? std::string() : std::move(text);
  if (!d.oversize) overlay_[d.path] = d.text;
}

void Server::flush(std::vector<json>& out) {
  const std::set<std::string> pending = std::move(pending_);
  pending_.clear();
  for (const auto& uri : pending)
    if (docs_.count(uri)) changed(uri, out);
}

void Server::publish(const std::set<std::string>& uris, std::vector<json>& out) {
  for (const std::string& u : uris) {
    std::vector<const json*> found;  // each open document's diagnostics in this file
    for (const auto& [du, d] : docs_)
      if (auto it = d.diagnostics.find(u); it != d.diagnostics.end()) found.push_back(&it->second);
    json all = json::array();
    if (found.size() == 1) {
      all = *found.front();
    } else {  // a file two open recipes use: each problem once
      std::set<std::string> seen;
      for (const json* list : found)
        for (const json& diag : *list)
          if (seen.insert(diag.dump()).second) all.push_back(diag);
    }
    json p = {{"uri", u}, {"diagnostics", std::move(all)}};
    if (auto it = docs_.find(u); it != docs_.end()) p["version"] = it->second.version;
    out.push_back({{"jsonrpc", "2.0"}, {"method", "textDocument/publishDiagnostics"}, {"params", std::move(p)}});
  }
}

int serve(std::istream& in, std::ostream& out) {
  Server server;
  FrameReader frames(in);
  while (!server.exited()) {
    std::optional<std::string> body = frames.next();
    if (!body) break;
    std::vector<json> replies;
    json message;
    try {
      message = json::parse(*body);
      replies = server.handle(message, in.rdbuf()->in_avail() > 0);
    } catch (const json::exception& e) {
      replies = {Server::parse_error(body->empty() ? "a frame without a usable Content-Length" : e.what())};
      server.flush(replies);
    }
    for (const json& r : replies) write_message(out, r.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  return server.exited() ? server.exit_code() : 1;
}

}  // namespace whittle::lsp
