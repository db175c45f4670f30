// `whittle lsp`: the language server on stdin/stdout (runtime/lsp/server.h).
#include <iostream>

#include "runtime/cli/commands.h"
#include "runtime/lsp/server.h"

namespace whittle::cli {

void add_lsp(CLI::App& app, int& exit_code) {
  CLI::App* c = app.add_subcommand("lsp", "Serve the Language Server Protocol on stdin and stdout, for editors");
  c->add_flag("--stdio", "Talk over stdin and stdout (the only way; accepted because clients pass it)");
  c->callback([&exit_code] {
    std::ios::sync_with_stdio(false);
    exit_code = lsp::serve(std::cin, std::cout);
  });
}

}  // namespace whittle::cli
