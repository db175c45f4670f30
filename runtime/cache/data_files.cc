// Locating data sets and fingerprinting them.
#include "runtime/cache/data_files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "lang/data_layout.h"
#include "lang/files.h"
#include "runtime/system/atomic_file.h"
#include "runtime/system/sha256.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> candidate_roots(const std::string& dataset, const std::string& root) {
  const std::string sub = lang::data_layout(dataset)->folder;
  if (!root.empty())
    return {root, (fs::path(root) / sub).string()};  // the folder, or the one its archive unpacked into
  std::vector<std::string> out;
  const char* env = std::getenv("WHITTLE_DATA");
  if (env && *env) {
    out.push_back((fs::path(env) / sub).string());
    out.push_back(env);
  }
  if (dataset == "fashion_mnist") out.push_back("/usr/share/datasets/fashion-mnist");
  return out;
}

}  // namespace

std::optional<DataFiles> locate_data(const lang::StageInstance& s, std::string& error, const std::string& elsewhere,
                                     bool use_root) {
  DataFiles d;
  d.dataset = s.value("dataset") ? s.value("dataset")->str : "";
  const std::string root = use_root && s.value("root") ? s.value("root")->str : "";
  if (d.dataset == "synthetic") return d;
  const lang::DataLayout* layout = lang::data_layout(d.dataset);
  if (!layout) {
    error = fmt::format("whittle reads no data set called `{}` from files", d.dataset);
    return std::nullopt;
  }
  auto roots = candidate_roots(d.dataset, root);
  if (!elsewhere.empty()) roots = {(fs::path(elsewhere) / layout->folder).string(), elsewhere};
  std::string looked;
  for (const auto& r : roots) {
    const std::string missing = lang::first_missing(*layout, r);
    if (missing.empty()) {
      d.root = r;
      for (const auto& n : layout->files) d.files.push_back((fs::path(r) / n).string());
      return d;
    }
    looked += fmt::format("{}`{}` (no `{}`)", looked.empty() ? "" : ", ", r, missing);
  }
  if (d.dataset == "cifar10")
    error = roots.empty() ? "no folder given for CIFAR-10: write `data cifar10 root: "
                            "\"/path/to/cifar-10-batches-bin\"` or set WHITTLE_DATA"
                          : fmt::format("CIFAR-10 is not where whittle looked: {}", looked);
  else
    error = roots.empty() ? "no folder for Fashion-MNIST"
                          : fmt::format(
                                "Fashion-MNIST is not where whittle looked: {}; install Debian's "
                                "`dataset-fashion-mnist` or give `root:`",
                                looked);
  return std::nullopt;
}

std::optional<std::string> data_fingerprint(const DataFiles& files, const std::string& memo_path, std::string& error) {
  // memo lines: path \t size \t mtime \t sha256
  std::map<std::string, std::string> memo;  // "path\tsize\tmtime" -> sha
  {
    std::string ignored;
    std::istringstream in(lang::read_regular_file(memo_path, 64u << 20, ignored).value_or(""));
    std::string line;
    while (std::getline(in, line)) {
      const auto t = line.rfind('\t');
      if (t != std::string::npos && line.size() == t + 65) memo[line.substr(0, t)] = line.substr(t + 1);
    }
  }
  std::string text = "whittle-data 1\n" + files.dataset + "\n";
  bool changed = false;
  for (const auto& f : files.files) {
    // Readable now, or it is an error at the `data` line: a file that cannot be read must never
    // become a fingerprint (nor, later, a data set of zeros).
    const int fd = ::open(f.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      error = fmt::format("cannot read `{}`: {}", f, std::strerror(errno));
      return std::nullopt;
    }
    ::close(fd);
    std::error_code ec;
    const auto size = fs::file_size(f, ec);
    const auto mtime = fs::last_write_time(f, ec).time_since_epoch().count();
    const std::string id = fmt::format("{}\t{}\t{}", fs::weakly_canonical(f, ec).string(), size, mtime);
    auto it = memo.find(id);
    std::string sum;
    if (it != memo.end()) {
      sum = it->second;
    } else {
      auto computed = sha256_file(f);
      if (!computed) {
        error = fmt::format("cannot read `{}`: {}", f, std::strerror(errno ? errno : EIO));
        return std::nullopt;
      }
      sum = *computed;
      memo[id] = sum;
      changed = true;
    }
    text += fs::path(f).filename().string() + " " + sum + "\n";
  }
  if (changed && !memo_path.empty()) {
    std::string all, ignored;
    for (const auto& [k, v] : memo) all += k + '\t' + v + '\n';
    write_file_atomic(memo_path, all, ignored);  // a memo only: without it the files are hashed again next time
  }
  return sha256_hex(text);
}

}  // namespace whittle::runtime
