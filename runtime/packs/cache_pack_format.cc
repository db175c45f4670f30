// The list of a cache pack: written sealed, read back checked (cache_pack_format.h).
#include "runtime/packs/cache_pack_format.h"

#include <archive.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "lang/files.h"
#include "runtime/system/sha256.h"

namespace whittle::runtime::pack {
namespace fs = std::filesystem;

namespace {

bool plain_name(const std::string& n) {
  return !n.empty() && n.size() <= 255 && n.find('/') == std::string::npos && n != "." && n != ".." &&
         lang::printable(n) == n;
}

bool valid_key(const std::string& k) {
  return k.size() == 64 &&
         std::all_of(k.begin(), k.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void emit_file(YAML::Emitter& out, const EntryFile& f) {
  out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << f.name << YAML::Key << "size"
      << YAML::Value << f.size << YAML::Key << "sha256" << YAML::Value << f.sha256 << YAML::EndMap;
}

EntryFile read_file_row(const YAML::Node& n) {
  EntryFile f{n["name"].as<std::string>(), n["size"].as<std::uint64_t>(), n["sha256"].as<std::string>()};
  if (!plain_name(f.name))
    throw PackError(
        fmt::format("its list names a file `{}` outside its entry", lang::printable(f.name.substr(0, 255))));
  return f;
}

}  // namespace

std::string archive_path(const PackList::Item& it, const EntryFile& f) {
  return fmt::format("{}/{}/{}", it.partial ? "partial" : "objects", it.key, f.name);
}

std::string list_text(const PackList& l) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "format" << YAML::Value << l.format << YAML::Key << "cache_format"
      << YAML::Value << l.cache_format << YAML::Key << "whittle_version" << YAML::Value << l.whittle_version
      << YAML::Key << "created" << YAML::Value << l.created << YAML::Key << "recipe" << YAML::Value << l.recipe
      << YAML::Key << "items" << YAML::Value << YAML::BeginSeq;
  for (const auto& it : l.items) {
    out << YAML::BeginMap << YAML::Key << "key" << YAML::Value << it.key << YAML::Key << "label" << YAML::Value
        << it.label << YAML::Key << "partial" << YAML::Value << it.partial << YAML::Key << "files" << YAML::Value
        << YAML::BeginSeq;
    for (const auto& f : it.files) emit_file(out, f);
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndSeq;
  if (l.record) {
    out << YAML::Key << "record" << YAML::Value;
    emit_file(out, *l.record);
  }
  out << YAML::EndMap;
  return sealed(std::string(out.c_str()) + "\n");
}

bool is_tensor_file(const std::string& name) {
  const std::string ext = ".safetensors";
  return name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0;
}

namespace {

/// The files an unfinished stage's folder of epoch checkpoints holds (runtime/torch/training/checkpoint.h):
/// state-N.json, epoch-N[.optim|.average].safetensors, snapshot-N[.optim|.average].safetensors; nothing else.
bool checkpoint_file(const EntryFile& f) {
  auto numbered = [&](const std::string& prefix, const std::string& suffix) {
    const std::string& n = f.name;
    if (n.size() <= prefix.size() + suffix.size() || n.compare(0, prefix.size(), prefix) != 0 ||
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0)
      return false;
    const std::string digits = n.substr(prefix.size(), n.size() - prefix.size() - suffix.size());
    return digits.size() <= 9 && std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (numbered("state-", ".json")) return f.size <= kMaxState;
  for (const char* prefix : {"epoch-", "snapshot-"})
    for (const char* suffix : {".safetensors", ".optim.safetensors", ".average.safetensors"})
      if (numbered(prefix, suffix)) return true;
  return false;
}

}  // namespace

PackList parse_list(const std::string& text) {
  std::string why;
  const auto body = unsealed(text, why);
  if (!body) throw PackError("its list " + why);
  if (lang::bracket_depth(*body) > lang::kMaxBracketDepth)
    throw PackError("its list nests deeper than a pack's list does");
  PackList l;
  try {
    const YAML::Node n = YAML::Load(*body);
    l.format = n["format"].as<int>();
    if (l.format != kPackFormat)
      throw PackError(
          fmt::format("it is a pack of format {}, and this whittle reads format {}", l.format, kPackFormat));
    l.cache_format = n["cache_format"].as<int>();
    if (l.cache_format != kCacheFormat)
      throw PackError(fmt::format(
          "its entries are of whittle-cache {} and this whittle's cache is whittle-cache {}: they cannot be reused; "
          "pack them again with this version of whittle",
          l.cache_format, kCacheFormat));
    // Words the pack's maker chose, printed on the user's terminal: control characters escaped.
    l.whittle_version = lang::printable(n["whittle_version"].as<std::string>());
    l.created = lang::printable(n["created"].as<std::string>());
    l.recipe = lang::printable(n["recipe"].as<std::string>());
    std::set<std::string> keys;
    for (const auto& i : n["items"]) {
      PackList::Item it{
          i["key"].as<std::string>(), lang::printable(i["label"].as<std::string>()), i["partial"].as<bool>(), {}};
      if (!valid_key(it.key))
        throw PackError(fmt::format("its list has `{}` where a key belongs", lang::printable(it.key.substr(0, 80))));
      if (!keys.insert(it.key).second)
        throw PackError(fmt::format("its list names the entry {} twice", it.key.substr(0, 16)));
      std::set<std::string> names;
      for (const auto& f : i["files"]) {
        it.files.push_back(read_file_row(f));
        if (it.partial && !checkpoint_file(it.files.back()))
          throw PackError(fmt::format("its list has `{}` among the epoch checkpoints of {}, which hold no such file",
                                      it.files.back().name.substr(0, 120), it.label.substr(0, 120)));
        if (!names.insert(it.files.back().name).second)
          throw PackError(fmt::format("its list names `{}` twice", archive_path(it, it.files.back())));
      }
      l.items.push_back(std::move(it));
    }
    if (n["record"]) {
      l.record = read_file_row(n["record"]);
      if (fs::path(l.record->name).extension() != ".yaml" || l.record->size > kMaxRecord)
        throw PackError(fmt::format("its run record `{}` is no run record", l.record->name));
    }
  } catch (const YAML::Exception& e) {
    throw PackError(fmt::format("its list is malformed: {}", e.what()));
  }
  return l;
}

std::string archive_error(struct archive* a, const char* otherwise) {
  return archive_error_string(a) ? archive_error_string(a) : otherwise;
}

}  // namespace whittle::runtime::pack
