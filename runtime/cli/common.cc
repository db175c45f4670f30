// Shared CLI helpers.
#include "runtime/cli/common.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "lang/files.h"
#include "lang/render.h"

namespace whittle::cli {

std::string render_all(const lang::Analysis& a, Format f) {
  if (f == Format::Json) return lang::render_json(a.diags.all(), a.sources);
  std::string out;
  for (const auto& d : a.diags.all()) {
    out += f == Format::Full ? lang::render_full(d, a.sources) + "\n" : lang::render_concise(d, a.sources) + "\n";
  }
  return out;
}

std::string summary(std::size_t errors, std::size_t warnings, std::size_t notes) {
  std::vector<std::string> parts;
  if (errors) parts.push_back(fmt::format("{} error{}", errors, errors == 1 ? "" : "s"));
  if (warnings) parts.push_back(fmt::format("{} warning{}", warnings, warnings == 1 ? "" : "s"));
  if (notes) parts.push_back(fmt::format("{} note{}", notes, notes == 1 ? "" : "s"));
  std::string s;
  for (std::size_t i = 0; i < parts.size(); ++i) s += (i ? ", " : "") + parts[i];
  return s;
}

std::optional<std::map<std::string, std::string>> parse_sets(const std::vector<std::string>& sets) {
  std::map<std::string, std::string> out;
  for (const auto& s : sets) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "error: `--set %s`: write `--set NAME=VALUE`, e.g. `--set rounds=2`\n", s.c_str());
      return std::nullopt;
    }
    out[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return out;
}

std::optional<std::string> read_file(const std::string& path, std::string& error, std::uintmax_t max_bytes) {
  return lang::read_regular_file(path, max_bytes, error);
}

CLI::Option* add_format(CLI::App* command, std::string& format, const std::string& json_is,
                        const std::vector<std::string>& extra) {
  format = "text";
  std::vector<std::string> words = {"text"};
  std::string help = "text (the default)";
  if (!json_is.empty()) words.push_back("json"), help += ", json (" + json_is + ")";
  for (const auto& e : extra) words.push_back(e), help += ", " + e;
  const std::map<std::string, std::string> old_names = {{"full", "text"}, {"table", "text"}};
  return command->add_option("--format", format, help)
      ->transform(CLI::Transformer(old_names).description(""))
      ->check(CLI::IsMember(words));
}

CLI::Option* add_set_option(CLI::App* command, std::vector<std::string>& sets, const std::string& help) {
  return command->add_option("--set", sets, help)->allow_extra_args(false);
}

}  // namespace whittle::cli
