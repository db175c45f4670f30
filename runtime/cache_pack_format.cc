// The list of a cache pack: written sealed, read back checked (cache_pack_format.h).
#include "runtime/cache_pack_format.h"

#include <archive.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "runtime/cache_pack.h"
#include "runtime/sha256.h"

namespace whittle::runtime::pack {
namespace fs = std::filesystem;

namespace {

bool plain_name(const std::string& n) { return !n.empty() && n.size() <= 255 && n.find('/') == std::string::npos && n != "." && n != ".."; }

bool valid_key(const std::string& k) {
  return k.size() == 64 && std::all_of(k.begin(), k.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void emit_file(YAML::Emitter& out, const EntryFile& f) {
  out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << f.name << YAML::Key << "size" << YAML::Value << f.size
      << YAML::Key << "sha256" << YAML::Value << f.sha256 << YAML::EndMap;
}

EntryFile read_file_row(const YAML::Node& n) {
  EntryFile f{n["name"].as<std::string>(), n["size"].as<std::uint64_t>(), n["sha256"].as<std::string>()};
  if (!plain_name(f.name)) throw PackError(fmt::format("its list names a file `{}` outside its entry", f.name));
  return f;
}

}  // namespace

std::string archive_path(const PackList::Item& it, const EntryFile& f) {
  return fmt::format("{}/{}/{}", it.partial ? "partial" : "objects", it.key, f.name);
}

std::string list_text(const PackList& l) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "format" << YAML::Value << l.format << YAML::Key << "cache_format" << YAML::Value << l.cache_format
      << YAML::Key << "whittle_version" << YAML::Value << l.whittle_version << YAML::Key << "created" << YAML::Value << l.created
      << YAML::Key << "recipe" << YAML::Value << l.recipe << YAML::Key << "items" << YAML::Value << YAML::BeginSeq;
  for (const auto& it : l.items) {
    out << YAML::BeginMap << YAML::Key << "key" << YAML::Value << it.key << YAML::Key << "label" << YAML::Value << it.label << YAML::Key
        << "partial" << YAML::Value << it.partial << YAML::Key << "files" << YAML::Value << YAML::BeginSeq;
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

PackList parse_list(const std::string& text) {
  std::string why;
  const auto body = unsealed(text, why);
  if (!body) throw PackError("its list " + why);
  PackList l;
  try {
    const YAML::Node n = YAML::Load(*body);
    l.format = n["format"].as<int>();
    if (l.format != kPackFormat) throw PackError(fmt::format("it is a pack of format {}, and this whittle reads format {}", l.format, kPackFormat));
    l.cache_format = n["cache_format"].as<int>();
    if (l.cache_format != kCacheFormat)
      throw PackError(fmt::format("its entries are of whittle-cache {} and this whittle's cache is whittle-cache {}: they cannot be reused; "
                                  "pack them again with this version of whittle",
                                  l.cache_format, kCacheFormat));
    l.whittle_version = n["whittle_version"].as<std::string>();
    l.created = n["created"].as<std::string>();
    l.recipe = n["recipe"].as<std::string>();
    std::set<std::string> keys;
    for (const auto& i : n["items"]) {
      PackList::Item it{i["key"].as<std::string>(), i["label"].as<std::string>(), i["partial"].as<bool>(), {}};
      if (!valid_key(it.key)) throw PackError(fmt::format("its list has `{}` where a key belongs", it.key.substr(0, 80)));
      if (!keys.insert(it.key).second) throw PackError(fmt::format("its list names the entry {} twice", it.key.substr(0, 16)));
      std::set<std::string> names;
      for (const auto& f : i["files"]) {
        it.files.push_back(read_file_row(f));
        if (!names.insert(it.files.back().name).second) throw PackError(fmt::format("its list names `{}` twice", archive_path(it, it.files.back())));
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

std::string archive_error(struct archive* a, const char* otherwise) { return archive_error_string(a) ? archive_error_string(a) : otherwise; }

}  // namespace whittle::runtime::pack
