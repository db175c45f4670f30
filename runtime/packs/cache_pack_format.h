// The format of a cache pack (cache_pack.h): its version, its errors, its list, what every archive
// entry of it must be, shared by the writer (cache_pack.cc) and the reader (cache_unpack.cc).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <stdexcept>

#include "runtime/cache/store.h"

struct archive;

namespace whittle::runtime {

constexpr int kPackFormat = 1;

/// A pack that cannot be written, or a file that is no pack (or whose list is damaged): nothing added.
struct PackError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace whittle::runtime

namespace whittle::runtime::pack {

constexpr const char* kListName = "whittle-pack.yaml";  ///< the archive's first entry
constexpr std::uint64_t kMaxList = 64u << 20, kMaxRecord = 64u << 20;
constexpr std::uint64_t kMaxState = 256u << 20;  ///< an epoch checkpoint's state-N.json (its log and history)
constexpr std::size_t kBlock = 1 << 20;          ///< bytes streamed at a time

/// The pack's list: what every archive entry must be.
struct PackList {
  int format = kPackFormat, cache_format = kCacheFormat;
  std::string whittle_version, created, recipe;
  struct Item {
    std::string key, label;
    bool partial = false;
    std::vector<EntryFile> files;
  };
  std::vector<Item> items;
  std::optional<EntryFile> record;
};

/// Where a file of an item lies in the archive: objects/<key>/<name> or partial/<key>/<name>.
std::string archive_path(const PackList::Item& it, const EntryFile& f);
/// The list as YAML, sealed with its checksum.
std::string list_text(const PackList& l);
/// The list of a pack; throws PackError on a damaged, edited, malformed or other-format one.
PackList parse_list(const std::string& text);
/// Whether a file holds tensors (`.safetensors`): checked as it streams in.
bool is_tensor_file(const std::string& name);
/// libarchive's message, or `otherwise`.
std::string archive_error(struct archive* a, const char* otherwise);

}  // namespace whittle::runtime::pack
