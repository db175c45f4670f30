// The subcommands of `whittle`, each a few lines of glue over lang/ and runtime/.
#pragma once
#include <CLI/CLI.hpp>

namespace whittle::cli {

/// Registers each subcommand on `app`; the returned callback runs it and gives the exit code.
void add_lint(CLI::App& app, int& exit_code);
void add_check(CLI::App& app, int& exit_code);
void add_fmt(CLI::App& app, int& exit_code);
void add_doc(CLI::App& app, int& exit_code);
void add_explain(CLI::App& app, int& exit_code);
void add_ast(CLI::App& app, int& exit_code);
void add_run(CLI::App& app, int& exit_code);   ///< run, run-stage
void add_plan(CLI::App& app, int& exit_code);  ///< plan, graph
void add_cache(CLI::App& app, int& exit_code);
void add_report(CLI::App& app, int& exit_code);
void add_submit(CLI::App& app, int& exit_code);  ///< submit, verify
void add_lsp(CLI::App& app, int& exit_code);

}  // namespace whittle::cli
