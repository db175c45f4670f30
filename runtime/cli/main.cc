// `whittle`: the command line. Subcommands live in cmd_*.cc; this file only dispatches.
#include <cstdio>
#include <string>
#include <vector>

#include "lang/catalog.h"
#include "lang/suggest.h"
#include "runtime/cli/allocator.h"
#include "runtime/cli/commands.h"

int main(int argc, char** argv) {
  whittle::cli::use_training_allocator(argc, argv);
  CLI::App app{"whittle: recipes for training and compressing neural networks"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("whittle ") + WHITTLE_VERSION);
  int exit_code = 0;
  whittle::cli::add_lint(app, exit_code);
  whittle::cli::add_check(app, exit_code);
  whittle::cli::add_fmt(app, exit_code);
  whittle::cli::add_doc(app, exit_code);
  whittle::cli::add_explain(app, exit_code);
  whittle::cli::add_ast(app, exit_code);
  whittle::cli::add_run(app, exit_code);
  whittle::cli::add_plan(app, exit_code);
  whittle::cli::add_cache(app, exit_code);
  whittle::cli::add_report(app, exit_code);
  whittle::cli::add_submit(app, exit_code);
  whittle::cli::add_lsp(app, exit_code);

  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (const auto* sub : app.get_subcommands({})) names.push_back(sub->get_name());
    const std::string cmd = argv[1];
    if (std::find(names.begin(), names.end(), cmd) == names.end()) {
      std::fprintf(stderr, "error: unknown command `%s`\n", cmd.c_str());
      if (auto h = whittle::lang::did_you_mean(cmd, names)) std::fprintf(stderr, "  = help: %s\n", h->c_str());
      std::fprintf(stderr, "  = help: `whittle --help` lists the commands\n");
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const whittle::lang::CatalogError& e) {
    std::fprintf(stderr, "error: the stage catalog is malformed: %s\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    // The last line of defence: whatever a library throws reaches the user as a message and exit
    // 1, never as `terminate called`. Commands report their own errors before this.
    std::fprintf(stderr, "error: %s\n  = help: if this is not about your files or your disk, please report it\n",
                 e.what());
    return 1;
  }
  return exit_code;
}
