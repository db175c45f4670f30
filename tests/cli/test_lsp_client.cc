// `whittle lsp` with real clients: the framed byte stream through the program, and Debian's Neovim
// (headless, editors/vim's set-up) receiving a recipe's diagnostic as the user would.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "tests/cli/helpers.h"

using namespace whittle::test;
namespace fs = std::filesystem;

namespace {
std::string frame(const nlohmann::json& m) {
  const std::string body = m.dump();
  return "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}
}  // namespace

TEST_CASE("whittle lsp answers a framed exchange on stdin, several messages in one write", "[lsp]") {
  Scratch s;
  const std::string uri = "file://" + (s.dir / "r.recipe").string();
  const std::string in =
      frame({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"}, {"params", nlohmann::json::object()}}) +
      frame({{"jsonrpc", "2.0"},
             {"method", "textDocument/didOpen"},
             {"params",
              {{"textDocument",
                {{"uri", uri},
                 {"languageId", "whittle"},
                 {"version", 1},
                 {"text", "data cifar10\nmodel resnet1\n"}}}}}}) +
      "Content-Length: 5\r\n\r\n{oops" + frame({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "shutdown"}}) +
      frame({{"jsonrpc", "2.0"}, {"method", "exit"}});
  const std::string file = s.write("in.bin", in);
  const Result r = run_whittle("lsp < " + file);
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("\"serverInfo\"") != std::string::npos);
  CHECK(r.out.find("textDocument/publishDiagnostics") != std::string::npos);
  CHECK(r.out.find("E0103") != std::string::npos);   // resnet1: unknown architecture
  CHECK(r.out.find("-32700") != std::string::npos);  // the broken body: a parse error, and the server goes on
  CHECK(r.out.find("\"id\":2") != std::string::npos);
}

TEST_CASE("Neovim shows whittle's diagnostic for a recipe it opens", "[lsp][neovim]") {
  if (run_whittle_cmd("nvim --version").code != 0) {
    WHITTLE_SKIP("no nvim (Debian's neovim)");
  }
  Scratch s;
  const std::string recipe = s.write("bad.recipe", "data fashion_mnist\nmodel small_cnn\nprnue 20%\nevaluate\n");
  const std::string out = (s.dir / "seen.txt").string();
  const std::string vim = (fs::path(WHITTLE_SOURCE_DIR) / "editors" / "vim").string();
  const std::string lua = "vim.wait(20000, function() return #vim.diagnostic.get(0) > 0 end, 50); local f = io.open('" +
                          out +
                          "', 'w'); f:write(vim.bo.filetype, '\\n'); for _, d in ipairs(vim.diagnostic.get(0)) do "
                          "f:write(d.lnum, ' ', tostring(d.code), ' ', "
                          "(d.message:gsub('\\n', ' ')), '\\n') end; f:close()";
  const Result r = run_whittle_cmd("cd " + s.dir.string() + " && HOME=" + s.dir.string() +
                                   " timeout 60 nvim --headless -u NONE -i NONE --cmd 'set rtp^=" + vim +
                                   "' --cmd 'filetype on' --cmd \"lua require('whittle_lsp').setup({cmd={'" +
                                   std::string(WHITTLE_BIN) + "','lsp'}})\" -c \"lua " + lua + "\" -c 'qa!' " + recipe);
  INFO(r.out);
  const std::string seen = s.read("seen.txt");
  INFO(seen);
  CHECK(seen.rfind("whittle\n", 0) == 0);  // editors/vim's ftdetect: *.recipe is a whittle recipe
  CHECK(seen.find("2 E0102 unknown stage `prnue`") != std::string::npos);
  CHECK(seen.find("did you mean `prune`?") != std::string::npos);
}

namespace {
/// A client that opens `recipe` and hovers on `line` (0-based) until the model preview is computed
/// (or cannot be): the preview is computed off the request path. Prints FIRST True/False (whether
/// the first answer said it was coming), then the last hover's text.
Result hover_until_previewed(Scratch& s, const std::string& recipe, int line) {
  const std::string client = s.write("client.py", R"(import json, subprocess, sys, time
p = subprocess.Popen([sys.argv[1], 'lsp'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def send(m):
    b = json.dumps(m).encode(); p.stdin.write(b'Content-Length: %d\r\n\r\n' % len(b) + b); p.stdin.flush()
def recv():
    h = b''
    while not h.endswith(b'\r\n\r\n'): h += p.stdout.read(1)
    return json.loads(p.stdout.read(int(h.split(b':')[1].split(b'\r')[0])))
uri = 'file://' + sys.argv[2]
send({'jsonrpc': '2.0', 'id': 1, 'method': 'initialize', 'params': {}}); recv()
send({'jsonrpc': '2.0', 'method': 'textDocument/didOpen', 'params': {'textDocument': {'uri': uri, 'version': 1, 'text': open(sys.argv[2]).read()}}}); recv()
first = None
for i in range(600):
    send({'jsonrpc': '2.0', 'id': 10 + i, 'method': 'textDocument/hover', 'params': {'textDocument': {'uri': uri}, 'position': {'line': int(sys.argv[3]), 'character': 1}}})
    r = recv()
    while 'id' not in r: r = recv()
    text = r['result']['contents']['value']
    first = first or text
    if '| before | after |' in text or 'not available' in text: break
    time.sleep(0.1)
print('FIRST', 'computing' in first)
print(text)
send({'jsonrpc': '2.0', 'id': 9999, 'method': 'shutdown'}); recv()
send({'jsonrpc': '2.0', 'method': 'exit'}); p.wait()
)");
  return run_whittle_cmd("/usr/bin/python3 " + client + " " + WHITTLE_BIN + " " + recipe + " " + std::to_string(line));
}
}  // namespace

TEST_CASE("hover on a stage shows the model before and after it, once the preview is computed", "[lsp][preview]") {
  Scratch s;
  const std::string recipe =
      s.write("p.recipe", "data synthetic\nmodel small_cnn\ntrain 1 epoch\nprune 50%\nretrain 1 epoch\nevaluate\n");
  const Result r = hover_until_previewed(s, recipe, 3);
  INFO(r.out);
  REQUIRE(r.code == 0);
  if (r.out.find("| before | after |") == std::string::npos && r.out.find("FIRST False") != std::string::npos) {
    WHITTLE_SKIP("this build has no LibTorch: no preview");
  }
  CHECK(r.out.find("FIRST True") != std::string::npos);  // the first hover answers at once, saying it is coming
  CHECK(r.out.find("| before | after |") != std::string::npos);
  // small_cnn on the synthetic set (`whittle plan` gives the same): 23,604 parameters; the prune halves the non-zero
  // ones.
  CHECK(r.out.find("| parameters | 23.6k | 23.6k |") != std::string::npos);
  CHECK(r.out.find("| non-zero | 23.6k | 12.1k |") != std::string::npos);
}

TEST_CASE(
    "hover previews the model up to its line while a later line has an error, and says when activations stay in float",
    "[lsp][preview]") {
  Scratch s;
  // Line 7 has an error (an unknown stage); the quantize on line 4 comes before it.
  const std::string later = s.write(
      "q.recipe",
      "data synthetic\nmodel small_cnn\ntrain 1 epoch\nquantize 4 bits\nretrain 1 epoch\nevaluate\nfrobnicate 3\n");
  const Result r = hover_until_previewed(s, later, 3);
  INFO(r.out);
  REQUIRE(r.code == 0);
  if (r.out.find("FIRST False") != std::string::npos) {
    WHITTLE_SKIP("this build has no LibTorch: no preview");
  }
  CHECK(r.out.find("| before | after |") != std::string::npos);
  CHECK(r.out.find("**note**: the activations stay at 32 bits and the ops term is") != std::string::npos);
  CHECK(r.out.find("`activations: 8 bits`") != std::string::npos);
  // An error before the hovered line: it says which, and previews nothing.
  const std::string before =
      s.write("b.recipe", "data synthetic\nmodel small_cnn width: -3\ntrain 1 epoch\nquantize 4 bits\n");
  const Result b = hover_until_previewed(s, before, 3);
  INFO(b.out);
  CHECK(b.out.find("error E0203 at line 2: fix it first") != std::string::npos);
  CHECK(b.out.find("| before | after |") == std::string::npos);
}
