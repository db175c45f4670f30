// Helpers shared by the subcommands: rendering diagnostics, reading files, `--set` values.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lang/analyze.h"

namespace whittle::cli {

enum class Format { Full, Concise, Json };

std::string render_all(const lang::Analysis& a, Format f);

/// "2 errors, 1 warning" (empty when there is nothing).
std::string summary(std::size_t errors, std::size_t warnings, std::size_t notes);

/// Parses `NAME=VALUE` pairs; a malformed one is reported on stderr and returns nullopt.
std::optional<std::map<std::string, std::string>> parse_sets(const std::vector<std::string>& sets);

std::optional<std::string> read_file(const std::string& path, std::string& error);
/// Writes through a temporary file in the same folder and a rename, so a crash never leaves half a file.
bool write_file_atomic(const std::string& path, const std::string& text, std::string& error);

}  // namespace whittle::cli
