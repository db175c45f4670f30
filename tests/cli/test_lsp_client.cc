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
      frame({{"jsonrpc", "2.0"}, {"method", "textDocument/didOpen"},
             {"params", {{"textDocument", {{"uri", uri}, {"languageId", "whittle"}, {"version", 1}, {"text", "data cifar10\nmodel resnet1\n"}}}}}}) +
      "Content-Length: 5\r\n\r\n{oops" +
      frame({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "shutdown"}}) + frame({{"jsonrpc", "2.0"}, {"method", "exit"}});
  const std::string file = s.write("in.bin", in);
  const Result r = run_whittle("lsp < " + file);
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("\"serverInfo\"") != std::string::npos);
  CHECK(r.out.find("textDocument/publishDiagnostics") != std::string::npos);
  CHECK(r.out.find("E0103") != std::string::npos);  // resnet1: unknown architecture
  CHECK(r.out.find("-32700") != std::string::npos);  // the broken body: a parse error, and the server goes on
  CHECK(r.out.find("\"id\":2") != std::string::npos);
}

TEST_CASE("Neovim shows whittle's diagnostic for a recipe it opens", "[lsp][neovim]") {
  if (run_whittle_cmd("nvim --version").code != 0) {
    WARN("skipped: no nvim (Debian's neovim)");
    return;
  }
  Scratch s;
  const std::string recipe = s.write("bad.recipe", "data fashion_mnist\nmodel small_cnn\nprnue 20%\nevaluate\n");
  const std::string out = (s.dir / "seen.txt").string();
  const std::string vim = (fs::path(WHITTLE_SOURCE_DIR) / "editors" / "vim").string();
  const std::string lua =
      "vim.wait(20000, function() return #vim.diagnostic.get(0) > 0 end, 50); local f = io.open('" + out +
      "', 'w'); f:write(vim.bo.filetype, '\\n'); for _, d in ipairs(vim.diagnostic.get(0)) do f:write(d.lnum, ' ', tostring(d.code), ' ', "
      "(d.message:gsub('\\n', ' ')), '\\n') end; f:close()";
  const Result r = run_whittle_cmd("cd " + s.dir.string() + " && HOME=" + s.dir.string() + " timeout 60 nvim --headless -u NONE -i NONE --cmd 'set rtp^=" + vim +
                                   "' --cmd 'filetype on' --cmd \"lua require('whittle_lsp').setup({cmd={'" + std::string(WHITTLE_BIN) +
                                   "','lsp'}})\" -c \"lua " + lua + "\" -c 'qa!' " + recipe);
  INFO(r.out);
  const std::string seen = s.read("seen.txt");
  INFO(seen);
  CHECK(seen.rfind("whittle\n", 0) == 0);  // editors/vim's ftdetect: *.recipe is a whittle recipe
  CHECK(seen.find("2 E0102 unknown stage `prnue`") != std::string::npos);
  CHECK(seen.find("did you mean `prune`?") != std::string::npos);
}
