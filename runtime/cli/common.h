// Helpers shared by the subcommands: rendering diagnostics, reading files, `--set` values.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lang/analyze.h"
#include "runtime/system/atomic_file.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace whittle::cli {

/// `--format`, one vocabulary across the commands: `text` (the default, for people) and `json`
/// (for programs, where the command has it), plus what one command adds (`concise` for lint, `dot`
/// for graph). `full` and `table`, the names `text` had before, are still accepted.
CLI::Option* add_format(CLI::App* command, std::string& format, const std::string& json_is,
                        const std::vector<std::string>& extra = {});

/// `--set NAME=VALUE`, repeatable, one value each time: `--set a=1 r.recipe` leaves the recipe to
/// the positional argument (a vector option would take it as a second value).
CLI::Option* add_set_option(CLI::App* command, std::vector<std::string>& sets,
                            const std::string& help = "Override a top-level `let`: NAME=VALUE (repeatable)");

enum class Format { Full, Concise, Json };

std::string render_all(const lang::Analysis& a, Format f);

/// "2 errors, 1 warning" (empty when there is nothing).
std::string summary(std::size_t errors, std::size_t warnings, std::size_t notes);

/// Parses `NAME=VALUE` pairs; a malformed one is reported on stderr and returns nullopt.
std::optional<std::map<std::string, std::string>> parse_sets(const std::vector<std::string>& sets);

/// A regular file's contents (never a pipe or a device), of at most `max_bytes`.
std::optional<std::string> read_file(const std::string& path, std::string& error,
                                     std::uintmax_t max_bytes = std::uintmax_t{4} << 30);
using runtime::write_file_atomic;

}  // namespace whittle::cli
