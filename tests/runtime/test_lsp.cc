// `whittle lsp`'s server, driven message by message (runtime/lsp/server.h): a whole exchange,
// every method, bad input of every kind, and the framing on a byte stream.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "lang/catalog.h"
#include "runtime/lsp/jsonrpc.h"
#include "runtime/lsp/positions.h"
#include "runtime/lsp/server.h"

using namespace whittle::lsp;
namespace fs = std::filesystem;

namespace {

json req(int id, const std::string& method, json params = json::object()) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}
json note(const std::string& method, json params = json::object()) {
  return {{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}
json at(const std::string& uri, int line, int character) {
  return {{"textDocument", {{"uri", uri}}}, {"position", {{"line", line}, {"character", character}}}};
}
const json* result_of(const std::vector<json>& out, int id) {
  for (const auto& m : out)
    if (m.contains("id") && m["id"] == id) return m.contains("result") ? &m["result"] : nullptr;
  return nullptr;
}
/// The errors and warnings last published for `uri`, as "CODE@line".
std::vector<std::string> published(const std::vector<json>& out, const std::string& uri) {
  std::vector<std::string> codes;
  for (const auto& m : out)
    if (m.value("method", "") == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri) {
      codes.clear();
      for (const auto& d : m["params"]["diagnostics"])
        if (d["severity"].get<int>() <= 2)  // errors and warnings (notes are published too, as information)
          codes.push_back(d.value("code", std::string("-")) + "@" +
                          std::to_string(d["range"]["start"]["line"].get<int>()));
    }
  return codes;
}
json open(const std::string& uri, const std::string& text) {
  return note("textDocument/didOpen",
              {{"textDocument", {{"uri", uri}, {"languageId", "whittle"}, {"version", 1}, {"text", text}}}});
}

struct Dir {
  fs::path path = fs::temp_directory_path() / ("whittle-lsp-" + std::to_string(::getpid()));
  Dir() { fs::create_directories(path); }
  ~Dir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("a whole exchange: initialize, open, change, every method, shutdown, exit", "[lsp]") {
  Dir dir;
  const std::string uri = uri_of_path((dir.path / "r.recipe").string());
  Server s;
  auto init =
      s.handle(req(1, "initialize", {{"processId", nullptr}, {"rootUri", nullptr}, {"capabilities", json::object()}}));
  REQUIRE(result_of(init, 1));
  const json caps = (*result_of(init, 1))["capabilities"];
  for (const char* c : {"hoverProvider", "completionProvider", "documentFormattingProvider", "documentSymbolProvider",
                        "definitionProvider", "codeActionProvider"})
    CHECK(caps.contains(c));
  CHECK(s.handle(note("initialized")).empty());

  // Open with a misspelt stage: its diagnostic, with the help, at its line.
  auto opened =
      s.handle(open(uri, "data fashion_mnist\nmodel small_cnn\nlet e = 3\ntrain $e epochs\nprnue 20%\nevaluate\n"));
  CHECK(published(opened, uri) == std::vector<std::string>{"E0102@4"});
  const json diag = opened.back()["params"]["diagnostics"][0];
  CHECK(diag["severity"] == 1);
  CHECK(diag["message"].get<std::string>().find("did you mean `prune`?") != std::string::npos);
  CHECK(diag["range"] == json::parse(R"({"start": {"line": 4, "character": 0}, "end": {"line": 4, "character": 5}})"));

  // The quick fix its help names.
  auto fix = s.handle(req(2, "textDocument/codeAction",
                          {{"textDocument", {{"uri", uri}}},
                           {"range", diag["range"]},
                           {"context", {{"diagnostics", json::array({diag})}}}}));
  REQUIRE(result_of(fix, 2));
  const json edit = (*result_of(fix, 2))[0]["edit"]["changes"][uri][0];
  CHECK(edit["newText"] == "prune");

  // Fixed: the diagnostic is cleared.
  auto changed =
      s.handle(note("textDocument/didChange",
                    {{"textDocument", {{"uri", uri}, {"version", 2}}},
                     {"contentChanges", json::array({{{"text",
                                                       "data fashion_mnist\nmodel small_cnn\nlet e = 3\ntrain $e "
                                                       "epochs\nprune 20%\nretrain 1 epoch\nevaluate\n"}}})}}));
  INFO(Catch::Detail::stringify(published(changed, uri)));
  CHECK(published(changed, uri).empty());
  CHECK(changed.back()["params"]["version"] == 2);

  // Hover: a stage's doc and the value of a `$name`; a parameter; an architecture.
  auto h = s.handle(req(3, "textDocument/hover", at(uri, 3, 2)));
  REQUIRE(result_of(h, 3));
  CHECK((*result_of(h, 3))["contents"]["value"].get<std::string>().find("Trains the model") != std::string::npos);
  CHECK((*result_of(h, 3))["contents"]["value"].get<std::string>().find("`epochs: 3 epochs`") !=
        std::string::npos);  // as it runs
  h = s.handle(req(4, "textDocument/hover", at(uri, 3, 7)));
  CHECK((*result_of(h, 4))["contents"]["value"].get<std::string>().find("let e = 3") != std::string::npos);
  h = s.handle(req(5, "textDocument/hover", at(uri, 1, 8)));
  CHECK((*result_of(h, 5))["contents"]["value"].get<std::string>().find("architecture") != std::string::npos);
  h = s.handle(req(6, "textDocument/hover", at(uri, 2, 4)));  // `let e`: nothing to say, a null result
  CHECK(result_of(h, 6));

  // Completion: stages at the start of a line, a stage's parameters and values, `$names`.
  auto labels = [&](int id, int line, int character) {
    std::vector<std::string> out;
    auto r = s.handle(req(id, "textDocument/completion", at(uri, line, character)));
    for (const auto& i : *result_of(r, id)) out.push_back(i["label"]);
    return out;
  };
  auto has = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  const auto line_start = labels(7, 4, 0);
  CHECK(has(line_start, "prune"));
  CHECK(has(line_start, "quantize"));
  const auto in_prune = labels(8, 4, 9);
  CHECK(has(in_prune, "criterion"));
  CHECK(has(in_prune, "global"));
  const auto in_train = labels(9, 3, 16);
  CHECK(has(in_train, "optimizer"));
  CHECK(has(in_train, "sgd("));

  // Symbols, definition, formatting.
  auto sym = s.handle(req(10, "textDocument/documentSymbol", {{"textDocument", {{"uri", uri}}}}));
  CHECK((*result_of(sym, 10)).size() == 7);
  auto def = s.handle(req(11, "textDocument/definition", at(uri, 3, 7)));
  CHECK((*result_of(def, 11))["range"]["start"] == json::parse(R"({"line": 2, "character": 4})"));
  s.handle(note("textDocument/didChange",
                {{"textDocument", {{"uri", uri}, {"version", 3}}},
                 {"contentChanges", json::array({{{"text", "data   fashion_mnist\nmodel small_cnn\nevaluate\n"}}})}}));
  auto f = s.handle(req(12, "textDocument/formatting",
                        {{"textDocument", {{"uri", uri}}}, {"options", {{"tabSize", 2}, {"insertSpaces", true}}}}));
  CHECK((*result_of(f, 12))[0]["newText"] == "data fashion_mnist\nmodel small_cnn\nevaluate\n");

  auto down = s.handle(req(13, "shutdown"));
  CHECK(result_of(down, 13));
  auto after = s.handle(req(14, "textDocument/hover", at(uri, 0, 0)));
  CHECK(after[0]["error"]["code"] == -32600);
  s.handle(note("exit"));
  CHECK(s.exited());
  CHECK(s.exit_code() == 0);
}

TEST_CASE("a used file's problems are published for it, and an edit to it in the editor re-checks its users", "[lsp]") {
  Dir dir;
  std::ofstream(dir.path / "lib.recipe") << "define twice() {\n  prune 20%\n  retrain 1 epoch\n}\n";
  const std::string main = uri_of_path((dir.path / "r.recipe").string()),
                    lib = uri_of_path((dir.path / "lib.recipe").string());
  Server s;
  s.handle(req(1, "initialize"));
  auto o = s.handle(
      open(main, "use \"lib.recipe\"\ndata fashion_mnist\nmodel small_cnn\ntrain 2 epochs\ntwice\nevaluate\n"));
  CHECK(published(o, main).empty());
  INFO(Catch::Detail::stringify(published(o, lib)) << " " << Catch::Detail::stringify(published(o, main)));
  CHECK(published(o, lib).empty());  // published for the used file too, empty: nothing wrong there
  // The used file opened and broken (unsaved): the recipe that uses it is checked against the buffer.
  auto broken = s.handle(open(lib, "define twice() {\n  prnue 20%\n  retrain 1 epoch\n}\n"));
  CHECK(published(broken, lib) == std::vector<std::string>{"E0102@1"});
  // Definition of the `define`d stage: across files.
  auto def = s.handle(req(2, "textDocument/definition", at(main, 4, 2)));
  CHECK((*result_of(def, 2))["uri"] == lib);
  auto use = s.handle(req(3, "textDocument/definition", at(main, 0, 6)));
  CHECK((*result_of(use, 3))["uri"] == lib);
  // Closed unsaved: the recipe reads the file on disk again, which is fine, and the buffer's problem is cleared.
  auto closed = s.handle(note("textDocument/didClose", {{"textDocument", {{"uri", lib}}}}));
  CHECK(published(closed, lib).empty());
  bool lib_published = false;
  for (const auto& m : closed)
    lib_published =
        lib_published || (m.value("method", "") == "textDocument/publishDiagnostics" && m["params"]["uri"] == lib);
  CHECK(lib_published);
}

TEST_CASE("any input gets a well-formed answer or none, never a crash", "[lsp]") {
  Server s;
  const std::string uri = "file:///nowhere/x.recipe";
  s.handle(req(1, "initialize"));
  // Not objects, no method, wrong types, unknown methods, positions out of range, half-typed text.
  CHECK(s.handle(json::array())[0]["error"]["code"] == -32600);
  CHECK(s.handle(json{{"jsonrpc", "2.0"}, {"id", 2}})[0]["error"]["code"] == -32600);
  CHECK(s.handle(req(3, "frobnicate"))[0]["error"]["code"] == -32601);
  CHECK(s.handle(note("frobnicate")).empty());
  CHECK(s.handle(req(4, "textDocument/hover", {{"textDocument", 7}}))[0]["error"]["code"] == -32602);
  CHECK(s.handle(note("textDocument/didOpen", {{"textDocument", {{"uri", 5}}}})).empty());
  s.handle(open(uri, "data cifar10 augment: [crop(pad: 4\nmodel resn"));
  for (int line : {-3, 0, 1, 2, 400})
    for (int ch : {-1, 0, 3, 9, 1000})
      for (const char* m : {"textDocument/hover", "textDocument/completion", "textDocument/definition"}) {
        auto r = s.handle(req(10, m, at(uri, line, ch)));
        REQUIRE(r.size() == 1);
        CHECK((r[0].contains("result") || r[0].contains("error")));
      }
  CHECK(s.handle(req(11, "textDocument/formatting", {{"textDocument", {{"uri", uri}}}}))[0]["result"]
            .empty());  // does not parse
  CHECK(s.handle(req(12, "textDocument/hover", at("file:///not/open.recipe", 0, 0)))[0]["result"].is_null());
  CHECK(
      s.handle(req(13, "textDocument/codeAction", {{"textDocument", {{"uri", uri}}}, {"context", "nope"}}))[0]["result"]
          .empty());
  // Every prefix of a recipe, as typed: each analysed, hovered and completed at its end.
  const std::string recipe =
      "use \"std/nets.recipe\"\nnetwork n(w: int = 8) {\n  conv $w channels -> bn -> relu\n  avgpool global -> "
      "linear\n}\n"
      "data synthetic\nmodel n w: 4\ntrain 2 epochs optimizer: sgd(lr: 0.1) schedule: cosine()\nrepeat 2 {\n  prune "
      "20%\n}\n";
  for (std::size_t n = 0; n <= recipe.size(); n += 3) {
    const std::string text = recipe.substr(0, n);
    s.handle(note("textDocument/didChange", {{"textDocument", {{"uri", uri}, {"version", static_cast<int>(n)}}},
                                             {"contentChanges", json::array({{{"text", text}}})}}));
    const json end = position_of(text, text.size());
    for (const char* m :
         {"textDocument/hover", "textDocument/completion", "textDocument/definition", "textDocument/documentSymbol"}) {
      auto r = s.handle(req(20, m, {{"textDocument", {{"uri", uri}}}, {"position", end}}));
      REQUIRE(r.size() == 1);
      CHECK(r[0].contains("result"));
    }
  }
  s.handle(note("exit"));
  CHECK(s.exit_code() == 1);  // exit without shutdown
}

TEST_CASE("framing: headers split across reads, several messages at once, bad lengths", "[lsp]") {
  auto frame = [](const std::string& body) {
    return "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  std::istringstream two(frame("{\"a\":1}") + "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n" +
                         frame("{\"b\":2}") + "\r\n");
  CHECK(read_message(two) == std::optional<std::string>("{\"a\":1}"));
  CHECK(read_message(two) == std::optional<std::string>("{\"b\":2}"));
  CHECK_FALSE(read_message(two));
  std::istringstream bad("Content-Length: nope\r\n\r\n" + frame("{}"));
  FrameReader bad_frames(bad);
  CHECK(bad_frames.next() == std::optional<std::string>(""));  // answered as a parse error
  CHECK(bad_frames.next() == std::optional<std::string>("{}"));
  std::istringstream cut("Content-Length: 10\r\n\r\n{\"a\"");
  CHECK_FALSE(read_message(cut));
  // The stdio loop over a stream: one exchange, answers framed, exit code 0 after shutdown.
  std::istringstream in(frame(req(1, "initialize").dump()) + frame("not json") + frame(req(2, "shutdown").dump()) +
                        frame(note("exit").dump()));
  std::ostringstream out;
  CHECK(serve(in, out) == 0);
  std::istringstream replies(out.str());
  CHECK(json::parse(*read_message(replies))["id"] == 1);
  CHECK(json::parse(*read_message(replies))["error"]["code"] == -32700);
  CHECK(json::parse(*read_message(replies))["id"] == 2);
  // UTF-16 positions: a character outside the BMP counts two.
  const std::string text = "# \xF0\x9F\x98\x80 x\nab";
  CHECK(position_of(text, text.find('x')) == json::parse(R"({"line": 0, "character": 5})"));
  CHECK(offset_of(text, json::parse(R"({"line": 0, "character": 5})")) == text.find('x'));
  CHECK(offset_of(text, json::parse(R"({"line": 9, "character": 0})")) == text.size());
}

TEST_CASE("the editors' grammars name every stage of the catalog, and VS Code's files are whole", "[lsp][editors]") {
  const fs::path editors = fs::path(WHITTLE_SOURCE_DIR) / "editors";
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  const json package = json::parse(slurp(editors / "vscode" / "package.json"));
  const json grammar =
      json::parse(slurp(editors / "vscode" / package["contributes"]["grammars"][0]["path"].get<std::string>()));
  CHECK(grammar["scopeName"] == package["contributes"]["grammars"][0]["scopeName"]);
  CHECK(json::parse(
            slurp(editors / "vscode" / package["contributes"]["languages"][0]["configuration"].get<std::string>()))
            .contains("comments"));
  CHECK(fs::exists(editors / "vscode" / package["main"].get<std::string>()));
  const std::string match = grammar["repository"]["stage"]["match"],
                    vim = slurp(editors / "vim" / "syntax" / "whittle.vim");
  const std::string group = match.substr(match.find('(') + 1, match.find(')') - match.find('(') - 1);
  std::set<std::string> alternatives;
  std::stringstream words(group);
  for (std::string w; std::getline(words, w, '|');) alternatives.insert(w);
  const std::string keywords = grammar["repository"]["keyword"]["match"];
  for (const std::string& name : whittle::lang::Catalog::builtin().stage_names()) {
    INFO(name);
    if (name == "search") {  // a statement, coloured as a keyword
      CHECK(keywords.find("|search|") != std::string::npos);
      CHECK(vim.find(" search ") != std::string::npos);
      continue;
    }
    CHECK(alternatives.count(name));
    CHECK(vim.find(" " + name) != std::string::npos);
  }
}

TEST_CASE("after any bad frame the server finds the next good one: bad lengths, a huge body, an endless header",
          "[lsp][hostile]") {
  auto frame = [](const std::string& body) {
    return "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  const std::string good = frame("{\"ok\":1}");
  const std::string body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"shutdown\"}";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"Content-Length: abc\r\n\r\n" + body, "not a number"},
      {"Content-Length: -5\r\n\r\n" + body, "negative"},
      {"Content-Length: 12345678901234567890123\r\n\r\n" + body, "23 digits"},
      {"Content-Type: application/json\r\n\r\n" + body, "no length"},
      {"Content-Length: " + std::to_string((70u << 20)) + "\r\n\r\n" + std::string(70u << 20, ' '), "a 70 MiB body"},
      {std::string(100000, 'h'), "a header line of 100,000 bytes without an end"},
      {"garbage without a colon\r\n\r\n", "not a header"},
  };
  for (const auto& [frame_text, what] : bad) {
    INFO(what);
    std::istringstream in(frame_text + good + good);
    FrameReader r(in);
    CHECK(r.next() == std::optional<std::string>(""));
    CHECK(r.next() == std::optional<std::string>("{\"ok\":1}"));
    CHECK(r.next() == std::optional<std::string>("{\"ok\":1}"));
    CHECK_FALSE(r.next());
  }
  // The stdio loop keeps answering after a bad frame: the request after it gets its answer.
  std::istringstream in("Content-Length: abc\r\n\r\n{\"x\":1}" + frame(req(1, "initialize").dump()) +
                        frame(req(2, "shutdown").dump()) + frame(note("exit").dump()));
  std::ostringstream out;
  CHECK(serve(in, out) == 0);
  std::istringstream replies(out.str());
  FrameReader answers(replies);
  CHECK(json::parse(*answers.next())["error"]["code"] == -32700);
  CHECK(json::parse(*answers.next())["id"] == 1);
  CHECK(json::parse(*answers.next())["id"] == 2);
}

TEST_CASE("the server answers nothing before initialize, bounds documents and messages, keeps untitled URIs",
          "[lsp][hostile]") {
  Server s;
  const std::string uri = "file:///nowhere/x.recipe";
  // Before `initialize`: requests refused with ServerNotInitialized, notifications dropped.
  CHECK(s.handle(req(1, "textDocument/hover", at(uri, 0, 0)))[0]["error"]["code"] == -32002);
  CHECK(s.handle(open(uri, "prnue 20%\n")).empty());
  CHECK(s.document(uri) == nullptr);
  s.handle(req(2, "initialize"));
  // A 3 MB word: its diagnostic is cut, not 3 MB.
  const std::string word(3u << 20, 'q');
  auto o = s.handle(open(uri, "data synthetic\nmodel " + word + "\n"));
  std::size_t longest = 0;
  for (const auto& m : o) longest = std::max(longest, m.dump().size());
  CHECK(longest < 20000);
  CHECK(o.size() >= 1);
  // Over kMaxDocument (the 3 MB text above is too): one warning that says so, and no analysis.
  REQUIRE(published(o, uri).size() == 1);
  CHECK(o.back()["params"]["diagnostics"][0]["message"].get<std::string>().find("more than the 1 MiB") !=
        std::string::npos);
  CHECK(s.handle(req(3, "textDocument/hover", at(uri, 1, 2)))[0]["result"].is_null());
  // A normal text again: analysed again.
  auto back = s.handle(
      note("textDocument/didChange",
           {{"textDocument", {{"uri", uri}, {"version", 2}}},
            {"contentChanges", json::array({{{"text", "data synthetic\nmodel " + std::string(5000, 'q') + "\n"}}})}}));
  REQUIRE(published(back, uri).size() == 1);
  const std::string msg = back.back()["params"]["diagnostics"][0]["message"];
  CHECK(msg.size() < 3000);
  CHECK(msg.find("(cut; `whittle lint` prints it whole)") != std::string::npos);
  // An untitled document is published under its own URI, never as a file of the current folder.
  auto u = s.handle(open("untitled:Untitled-1", "prnue 20%\n"));
  CHECK(published(u, "untitled:Untitled-1") == std::vector<std::string>{"E0102@0"});
  for (const auto& m : u) CHECK(m["params"]["uri"].get<std::string>().rfind("file:", 0) == std::string::npos);
}

TEST_CASE("a burst of changes already waiting is analysed once, at its end, and a request sees the latest text",
          "[lsp]") {
  Server s;
  const std::string uri = "file:///nowhere/x.recipe";
  s.handle(req(1, "initialize"));
  s.handle(open(uri, "data synthetic\n"));
  auto change = [&](const std::string& text, int v) {
    return note("textDocument/didChange", {{"textDocument", {{"uri", uri}, {"version", v}}},
                                           {"contentChanges", json::array({{{"text", text}}})}});
  };
  std::vector<json> out;
  for (int v = 2; v < 12; ++v) {
    auto o = s.handle(change("prnue " + std::to_string(v) + "%\n", v), /*more_waiting=*/true);
    out.insert(out.end(), o.begin(), o.end());
  }
  CHECK(out.empty());  // nothing analysed while more was waiting
  auto last = s.handle(req(2, "textDocument/documentSymbol", {{"textDocument", {{"uri", uri}}}}), true);
  // The request flushed the burst first: one publication, of version 11.
  int publications = 0;
  for (const auto& m : last)
    if (m.value("method", "") == "textDocument/publishDiagnostics") {
      ++publications;
      CHECK(m["params"]["version"] == 11);
    }
  CHECK(publications == 1);
}

TEST_CASE("a buffer with thousands of problems publishes a bounded list and says how many more", "[lsp][hostile]") {
  Server s;
  s.handle(req(1, "initialize"));
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "prnue " + std::to_string(i) + "%\n";
  const std::string uri = "file:///nowhere/x.recipe";
  auto o = s.handle(open(uri, text));
  REQUIRE_FALSE(o.empty());
  const json& diags = o.back()["params"]["diagnostics"];
  CHECK(diags.size() == 501);
  CHECK(diags.back()["message"].get<std::string>().rfind("2500 more problems in this file", 0) == 0);
  CHECK(o.back().dump().size() < (2u << 20));
}

TEST_CASE("completion offers a parameter's values right after `name: ` and inside its list", "[lsp]") {
  Server s;
  s.handle(req(1, "initialize"));
  const std::string uri = "file:///nowhere/x.recipe";
  auto labels = [&](const std::string& text) {
    s.handle(open(uri, text));
    const json end = position_of(text, text.size());
    auto r = s.handle(req(2, "textDocument/completion", {{"textDocument", {{"uri", uri}}}, {"position", end}}));
    std::set<std::string> out;
    for (const auto& item : *result_of(r, 2)) out.insert(item["label"].get<std::string>());
    return out;
  };
  const auto method = labels("data synthetic\nmodel small_cnn\ntrain 1 epoch\nquantize 4 bits method: ");
  CHECK(method.count("kmeans"));
  CHECK(method.count("uniform"));
  CHECK_FALSE(method.count("bits"));
  const auto metrics = labels("data synthetic\nmodel small_cnn\nevaluate metrics: [");
  CHECK(metrics.count("accuracy"));
  CHECK(metrics.count("f1"));
  CHECK_FALSE(metrics.count("batch"));
  const auto second = labels("data synthetic\nmodel small_cnn\nevaluate metrics: [accuracy, ");
  CHECK(second.count("confusion"));
  CHECK_FALSE(second.count("latency"));
}

TEST_CASE("hover on a network's name, where it is used and where it is declared, shows it", "[lsp]") {
  Server s;
  s.handle(req(1, "initialize"));
  const std::string uri = "file:///nowhere/x.recipe";
  const std::string text =
      "network tiny(w: int = 8) {\n  conv $w channels -> bn -> relu\n  avgpool global -> linear\n}\n"
      "data synthetic\nmodel tiny w: 4\nevaluate\n";
  s.handle(open(uri, text));
  for (const auto& [line, ch] : std::vector<std::pair<int, int>>{{5, 7}, {0, 9}}) {
    auto r = s.handle(req(2, "textDocument/hover", at(uri, line, ch)));
    const json* h = result_of(r, 2);
    REQUIRE(h);
    REQUIRE_FALSE(h->is_null());
    const std::string md = (*h)["contents"]["value"];
    INFO(md);
    CHECK(md.find("**tiny** (a network written in the recipe") != std::string::npos);
    CHECK(md.find("`w` (int), default `8`") != std::string::npos);
    CHECK(md.find("w: 4 1×12×12:") != std::string::npos);
    CHECK(md.find("MACs per image") != std::string::npos);
  }
}

TEST_CASE("hover on `model NET` of a written network shows the network's parameters, not the built-in knobs", "[lsp]") {
  Server s;
  s.handle(req(1, "initialize"));
  const std::string uri = "file:///nowhere/x.recipe";
  s.handle(open(uri,
                "network tiny(w: int = 8) {\n  conv $w channels -> avgpool global -> linear\n}\ndata synthetic\nmodel "
                "tiny w: 4\nevaluate\n"));
  auto r = s.handle(req(2, "textDocument/hover", at(uri, 4, 2)));
  const std::string md = (*result_of(r, 2))["contents"]["value"];
  INFO(md);
  CHECK(md.find("`w` (int), default `8`") != std::string::npos);
  CHECK(md.find("width_mult") == std::string::npos);
  CHECK(md.find("growth") == std::string::npos);
}

TEST_CASE("a search: hover says its candidates and constraint; completion knows its words", "[lsp][search]") {
  Server s;
  s.handle(req(1, "initialize"));
  const std::string uri = "file:///nowhere/x.recipe";
  const std::string text =
      "data synthetic validation: 10%\nmodel small_cnn\ntrain 1 epoch\n"
      "search lowest course2025 where accuracy >= 80% budget: 4 {\n  choose amount in 30%..90% by 30% monotone\n"
      "  choose bits in [8 bits, 4 bits]\n  prune $amount\n  quantize $bits\n  evaluate split: validation\n}\n";
  s.handle(open(uri, text));
  auto r = s.handle(req(2, "textDocument/hover", at(uri, 3, 2)));
  const json* h = result_of(r, 2);
  REQUIRE(h);
  REQUIRE_FALSE(h->is_null());
  const std::string md = (*h)["contents"]["value"];
  INFO(md);
  CHECK(md.find("**search** for the lowest `course2025` where `accuracy` reaches the bar: lowest course2025 where "
                "accuracy >= 80%, at most 4 trainings") != std::string::npos);
  CHECK(md.find("`amount`: 3 values, monotone, `bits`: 2 values") != std::string::npos);
  auto labels = [&](const std::string& t) {
    s.handle(open(uri, t));
    auto c = s.handle(
        req(3, "textDocument/completion", {{"textDocument", {{"uri", uri}}}, {"position", position_of(t, t.size())}}));
    std::set<std::string> out;
    for (const auto& item : *result_of(c, 3)) out.insert(item["label"].get<std::string>());
    return out;
  };
  const std::string head = "data synthetic validation: 10%\nmodel small_cnn\n";
  CHECK(labels(head + "search lowest ").count("course2025"));
  CHECK(labels(head + "search lowest ").count("macs"));
  CHECK(labels(head + "search lowest macs where ").count("accuracy"));
  CHECK(labels(head + "search lowest macs where accuracy >= 90% ").count("budget"));
  CHECK(labels(head + "search lowest macs where accuracy >= 90% {\n  choose a in [1, 2] ").count("monotone"));
  CHECK(labels(head + "search lowest macs where accuracy >= 90% {\n  ").count("choose"));
}
