// `whittle lint` and `whittle check`.
#include <fmt/format.h>

#include <cstdio>
#include <set>

#include "lang/analyze.h"
#include "lang/network.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/common.h"

namespace whittle::cli {
namespace {

struct LintOptions {
  std::vector<std::string> files;
  std::string format = "text";
  bool deny_warnings = false;
  std::vector<std::string> sets;
};

int run_lint(const LintOptions& o) {
  auto sets = parse_sets(o.sets);
  if (!sets) return 2;
  lang::CheckOptions copts;
  copts.overrides = *sets;
  const Format f = o.format == "json" ? Format::Json : o.format == "concise" ? Format::Concise : Format::Full;
  std::size_t errors = 0, warnings = 0, notes = 0;
  std::string json = "[";
  for (const auto& file : o.files) {
    auto a = lang::analyze_file(file, copts);
    errors += a->diags.count(lang::Severity::Error);
    warnings += a->diags.count(lang::Severity::Warning);
    notes += a->diags.count(lang::Severity::Note);
    std::string out = render_all(*a, f);
    if (f == Format::Json) {
      // Merge the per-file arrays into one.
      const auto open = out.find('['), close = out.rfind(']');
      std::string inner = out.substr(open + 1, close - open - 1);
      if (inner.find_first_not_of(" \n") != std::string::npos) json += (json.size() > 1 ? "," : "") + inner;
    } else {
      std::fputs(out.c_str(), stdout);
    }
  }
  if (f == Format::Json) {
    std::fputs((json + (json.size() > 1 ? "\n]\n" : "]\n")).c_str(), stdout);
  } else if (errors + warnings + notes > 0 && f == Format::Full) {
    std::fprintf(stdout, "%s: %s in %zu file%s\n", errors ? "error" : "lint", summary(errors, warnings, notes).c_str(),
                 o.files.size(), o.files.size() == 1 ? "" : "s");
  }
  if (errors > 0) return 1;
  if (o.deny_warnings && warnings > 0) return 1;
  return 0;
}

}  // namespace

void add_lint(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<LintOptions>();
  CLI::App* c = app.add_subcommand("lint", "Check recipes and report every problem (exit 1 on errors)");
  c->add_option("files", o->files, "Recipe files")->required()->check(CLI::ExistingFile);
  add_format(c, o->format, "the diagnostics as data", {"concise"});
  c->add_flag("--deny-warnings", o->deny_warnings, "Exit 1 on warnings too");
  add_set_option(c, o->sets);
  c->callback([o, &exit_code] { exit_code = run_lint(*o); });
}

namespace {
/// Every network the recipe builds (once per distinct build: a sweep over `growth` builds several).
std::string layer_tables(const lang::CheckedRecipe& r, bool json) {
  std::set<std::string> seen;
  std::vector<std::string> tables;
  for (const auto& s : r.stages)
    if (s.network && seen.insert(s.network->canonical()).second)
      tables.push_back(json ? lang::net::layer_table_json(*s.network) : lang::net::layer_table(*s.network));
  if (!json) {
    std::string out;
    for (std::size_t i = 0; i < tables.size(); ++i) out += (i ? "\n" : "") + tables[i];
    return out.empty() ? "the recipe builds no network written in it\n" : out;
  }
  std::string out = "[";
  for (std::size_t i = 0; i < tables.size(); ++i) out += (i ? "," : "") + tables[i];
  return out + "]\n";
}
}  // namespace

void add_check(CLI::App& app, int& exit_code) {
  auto file = std::make_shared<std::string>();
  auto sets = std::make_shared<std::vector<std::string>>();
  CLI::App* c = app.add_subcommand("check", "Print the checked recipe: every stage with its resolved parameters");
  c->add_option("file", *file, "Recipe file")->required()->check(CLI::ExistingFile);
  add_set_option(c, *sets);
  auto layers = std::make_shared<bool>(false);
  auto format = std::make_shared<std::string>("text");
  c->add_flag("--layers", *layers,
              "Print each network's layers instead: module, layer, output shape, parameters, MACs");
  c->add_option("--format", *format, "With --layers: text or json")->check(CLI::IsMember({"text", "json"}));
  c->callback([file, sets, layers, format, &exit_code] {
    auto parsed = parse_sets(*sets);
    if (!parsed) {
      exit_code = 2;
      return;
    }
    lang::CheckOptions copts;
    copts.overrides = *parsed;
    auto a = lang::analyze_file(*file, copts);
    std::fputs(render_all(*a, Format::Full).c_str(), stderr);
    if (a->diags.has_errors()) {
      std::fprintf(stderr, "error: %s; nothing to show\n",
                   summary(a->diags.count(lang::Severity::Error), a->diags.count(lang::Severity::Warning), 0).c_str());
      exit_code = 1;
      return;
    }
    if (*layers) {
      std::fputs(layer_tables(a->recipe, *format == "json").c_str(), stdout);
      return;
    }
    std::fputs(lang::dump(a->recipe, a->sources).c_str(), stdout);
  });
}

}  // namespace whittle::cli
