// Shared CLI helpers.
#include "runtime/cli/common.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

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

std::optional<std::string> read_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = fmt::format("cannot read `{}`: {}", path, std::strerror(errno));
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool write_file_atomic(const std::string& path, const std::string& text, std::string& error) {
  const std::string tmp = fmt::format("{}.whittle-tmp-{}", path, ::getpid());
  struct stat st {};
  const bool had_mode = ::stat(path.c_str(), &st) == 0;
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    error = fmt::format("cannot write `{}`: {}", tmp, std::strerror(errno));
    return false;
  }
  const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  const int saved = errno;
  std::fclose(f);
  if (!wrote) {
    std::remove(tmp.c_str());
    error = fmt::format("cannot write `{}`: {}; the original is untouched", path, std::strerror(saved));
    return false;
  }
  if (had_mode) ::chmod(tmp.c_str(), st.st_mode & 07777);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = fmt::format("cannot replace `{}`: {}; the original is untouched", path, std::strerror(errno));
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace whittle::cli
