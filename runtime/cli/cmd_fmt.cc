// `whittle fmt`: rewrite recipes in the canonical layout, atomically; refuse files that do not parse,
// and refuse to write anything that would not parse back to the same recipe.
#include <cstdio>

#include "lang/fmt.h"
#include "lang/loader.h"
#include "lang/parser.h"
#include "lang/render.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/common.h"

namespace whittle::cli {
namespace {

/// 0: formatted (or already canonical), 1: would change (--check) or did not parse, 3: internal error.
int format_one(const std::string& path, bool check, bool& changed) {
  std::string err;
  const bool stdin_mode = path == "-";
  std::optional<std::string> text;
  if (stdin_mode) {
    std::string all;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0 && all.size() <= lang::kMaxFileBytes) all.append(buf, n);
    if (all.size() > lang::kMaxFileBytes)
      err = "standard input holds more than a recipe may (16 MiB)";
    else
      text = all;
  } else {
    text = read_file(path, err, lang::kMaxFileBytes);
  }
  if (!text) {
    std::fprintf(stderr, "error: %s\n", err.c_str());
    return 1;
  }
  lang::SourceMap sources;
  const lang::FileId id = sources.add(stdin_mode ? "<stdin>" : path, *text);
  lang::Diagnostics diags;
  const auto recipe = lang::parse(sources, id, diags);
  if (diags.has_errors()) {
    for (const auto& d : diags.all()) std::fputs((lang::render_full(d, sources) + "\n").c_str(), stderr);
    std::fprintf(stderr, "error: `%s` has syntax errors; it was not formatted\n", path.c_str());
    return 1;
  }
  const std::string out = lang::format_recipe(recipe, sources.file(id));
  // Never write something that means anything else: the result must parse to the same AST.
  const lang::FileId again = sources.add("<formatted>", out);
  lang::Diagnostics d2;
  const auto reparsed = lang::parse(sources, again, d2);
  if (d2.has_errors() || lang::ast::dump(reparsed) != lang::ast::dump(recipe)) {
    std::fprintf(stderr,
                 "internal error: formatting `%s` would change its meaning; it was not written. Please report this.\n",
                 path.c_str());
    return 3;
  }
  changed = out != *text;
  if (stdin_mode) {
    std::fputs(out.c_str(), stdout);
    return 0;
  }
  if (check) {
    if (changed) std::printf("would reformat %s\n", path.c_str());
    return 0;
  }
  if (changed && !write_file_atomic(path, out, err)) {
    std::fprintf(stderr, "error: %s\n", err.c_str());
    return 1;
  }
  if (changed) std::printf("formatted %s\n", path.c_str());
  return 0;
}

}  // namespace

void add_fmt(CLI::App& app, int& exit_code) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto check = std::make_shared<bool>(false);
  CLI::App* c = app.add_subcommand("fmt", "Rewrite recipes in the canonical layout (`-` formats stdin to stdout)");
  c->add_option("files", *files, "Recipe files, or -")->required();
  c->add_flag("--check", *check, "Change nothing; list the files that would change and exit 1 if any");
  c->callback([files, check, &exit_code] {
    int worst = 0;
    bool any_changed = false;
    for (const auto& f : *files) {
      bool changed = false;
      worst = std::max(worst, format_one(f, *check, changed));
      any_changed = any_changed || changed;
    }
    exit_code = worst ? worst : (*check && any_changed ? 1 : 0);
  });
}

void add_ast(CLI::App& app, int& exit_code) {
  auto file = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand("ast", "Dump a recipe's syntax tree (for debugging the language)");
  c->add_option("file", *file, "Recipe file")->required()->check(CLI::ExistingFile);
  c->callback([file, &exit_code] {
    std::string err;
    auto text = read_file(*file, err, lang::kMaxFileBytes);
    if (!text) {
      std::fprintf(stderr, "error: %s\n", err.c_str());
      exit_code = 1;
      return;
    }
    lang::SourceMap sources;
    const lang::FileId id = sources.add(*file, *text);
    lang::Diagnostics diags;
    const auto recipe = lang::parse(sources, id, diags);
    std::fputs(lang::ast::dump(recipe).c_str(), stdout);
    for (const auto& d : diags.all()) std::fputs((lang::render_full(d, sources) + "\n").c_str(), stderr);
    exit_code = diags.has_errors() ? 1 : 0;
  });
}

}  // namespace whittle::cli
