// Reading and writing a submission's archive (submission_archive.h).
#include "runtime/submit/submission_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <filesystem>
#include <set>

#include "lang/files.h"
#include "lang/loader.h"
#include "runtime/cache/store.h"
#include "runtime/system/atomic_file.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kMiB = 1u << 20;
constexpr std::size_t kMaxPath = 1024, kMaxComponent = 255;

std::string archive_error(archive* a, const char* otherwise) {
  return archive_error_string(a) ? archive_error_string(a) : otherwise;
}

}  // namespace

std::uint64_t submission_file_limit(const std::string& p) {
  if (p == "MANIFEST.sha256" || p == "claims.json") return kMiB;
  if (p == "run.yaml") return 64 * kMiB;
  if (p == kModelFile) return 256 * kMiB;  // ResNet18 in float is 45 MB; VGG19 80 MB
  // The recipe's files: its sources (which the loader limits itself) and the modules scripted in
  // PyTorch that `model torchscript` reads, as large as a model.
  if (p.rfind("recipe/", 0) == 0) return 256 * kMiB;
  if (p.rfind("exports/", 0) == 0 && p.find('/', 8) == std::string::npos)
    return 256 * kMiB;  // ONNX and TorchScript exports
  if (p.rfind("report/", 0) == 0 && p.find('/', 7) == std::string::npos) return 64 * kMiB;
  return 0;
}

std::optional<SubmissionFiles> read_submission(const std::string& file, std::string& top, std::string& error) {
  if (const std::string kind = lang::non_regular_kind(file); !kind.empty()) {
    error = fmt::format("`{}` is {}, not a submission file", file, kind);
    return std::nullopt;
  }
  archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_tar(a);
  SubmissionFiles files;
  if (archive_read_open_filename(a, file.c_str(), 1 << 16) != ARCHIVE_OK) {
    error = fmt::format("not a submission (a tar.gz archive): {}", archive_error(a, "unreadable"));
    archive_read_free(a);
    return std::nullopt;
  }
  archive_entry* e = nullptr;
  std::uint64_t total = 0;
  int r;
  while (error.empty() && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    const std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    const std::string shown = name.size() > 80 ? name.substr(0, 80) + "…" : name;
    const fs::path p = fs::path(name).lexically_normal();
    bool escapes = name.empty() || p.is_absolute() || p.empty();
    bool too_long = name.size() > kMaxPath;
    for (const auto& part : p)
      escapes = escapes || part == "..", too_long = too_long || part.string().size() > kMaxComponent;
    if (escapes) {
      error = fmt::format("the entry `{}` leaves the submission's folder", shown);
      break;
    }
    if (too_long) {
      error = fmt::format("the entry `{}` has a path of {} characters, longer than a submission's paths may be", shown,
                          name.size());
      break;
    }
    if (archive_entry_filetype(e) == AE_IFDIR) continue;
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) || archive_entry_symlink(e)) {
      error = fmt::format("the entry `{}` is not a regular file (a link or a device): refused", shown);
      break;
    }
    const std::string first = p.begin()->string();
    if (top.empty()) top = first;
    if (first != top || std::distance(p.begin(), p.end()) < 2) {
      error = fmt::format("the entry `{}` is outside the submission's one folder `{}`", shown, top);
      break;
    }
    const std::string inner = p.lexically_relative(top).generic_string();
    const std::uint64_t limit = submission_file_limit(inner);
    if (limit == 0 && inner == "model.pt") {
      error =
          "it holds `model.pt`, the model file of submissions made by a whittle that kept models as TorchScript "
          "archives; "
          "make the submission again with this whittle (`whittle submit`): verify reads models only as safetensors "
          "data";
      break;
    }
    if (limit == 0) {
      error = fmt::format(
          "the entry `{}` is no file a submission holds (MANIFEST.sha256, claims.json, run.yaml, model.safetensors, "
          "recipe/, report/, exports/)",
          shown);
      break;
    }
    if (files.count(inner)) {
      error = fmt::format("the entry `{}` is there twice", shown);
      break;
    }
    // Streamed in blocks: what the header declares is checked, never allocated.
    const la_int64_t declared = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
    if (declared > static_cast<la_int64_t>(limit)) {
      error = fmt::format("the entry `{}` declares {} bytes, more than a submission's `{}` may have ({} MiB)", shown,
                          declared, inner, limit / kMiB);
      break;
    }
    if (total + static_cast<std::uint64_t>(std::max<la_int64_t>(declared, 0)) > kMaxSubmissionBytes) {
      error = fmt::format("with the entry `{}` its files add up to more than the {} MiB a submission may hold in all",
                          shown, kMaxSubmissionBytes / kMiB);
      break;
    }
    std::string bytes;
    char buf[1 << 16];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) {
      bytes.append(buf, static_cast<std::size_t>(n));
      total += static_cast<std::uint64_t>(n);
      if (bytes.size() > limit || total > kMaxSubmissionBytes) break;
    }
    if (bytes.size() > limit) {
      error =
          fmt::format("the entry `{}` is larger than a submission's `{}` may be ({} MiB)", shown, inner, limit / kMiB);
      break;
    }
    if (total > kMaxSubmissionBytes) {
      error = fmt::format("with the entry `{}` its files add up to more than the {} MiB a submission may hold in all",
                          shown, kMaxSubmissionBytes / kMiB);
      break;
    }
    if (n < 0 || (declared >= 0 && static_cast<la_int64_t>(bytes.size()) != declared)) {
      error = fmt::format("the entry `{}` is damaged: {}", shown, archive_error(a, "short read"));
      break;
    }
    files.emplace(inner, std::move(bytes));
  }
  if (error.empty() && r != ARCHIVE_EOF) error = fmt::format("the archive is damaged: {}", archive_error(a, ""));
  archive_read_free(a);
  // A path that is a file and, in another entry, a folder (`a` and `a/b`) cannot be unpacked.
  for (const auto& [path, bytes] : files) {
    if (!error.empty()) break;
    for (auto slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1))
      if (files.count(path.substr(0, slash))) {
        error = fmt::format("`{}` is both a file and a folder in the archive", path.substr(0, slash));
        break;
      }
  }
  if (!error.empty()) return std::nullopt;
  return files;
}

bool write_submission(const std::string& out, const std::string& top, const SubmissionFiles& files,
                      std::string& error) {
  if (const std::string kind = lang::non_regular_kind(out); !kind.empty()) {
    error = fmt::format("it is {}: whittle writes a submission only to a regular file", kind);
    return false;
  }
  archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  std::string bytes;
  // Built in memory and written by whittle's one checked, atomic writer.
  auto on_write = [](archive*, void* data, const void* buf, size_t n) -> la_ssize_t {
    static_cast<std::string*>(data)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  };
  bool ok = archive_write_open(a, &bytes, nullptr, on_write, nullptr) == ARCHIVE_OK;
  for (auto it = files.begin(); ok && it != files.end(); ++it) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, (top + "/" + it->first).c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(it->second.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, 0, 0);  // the same files give the same archive
    ok = archive_write_header(a, e) == ARCHIVE_OK &&
         archive_write_data(a, it->second.data(), it->second.size()) == static_cast<la_ssize_t>(it->second.size());
    archive_entry_free(e);
  }
  if (!ok) error = archive_error(a, "write failed");
  ok = archive_write_close(a) == ARCHIVE_OK && ok;
  if (!ok && error.empty()) error = archive_error(a, "write failed");
  archive_write_free(a);
  return ok && write_file_atomic(out, bytes, error);
}

}  // namespace whittle::runtime
