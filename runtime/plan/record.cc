// Reading and writing run records as YAML and JSON.
#include "runtime/plan/record.h"

#include "lang/files.h"
#include "runtime/plan/metrics.h"
#include "runtime/system/atomic_file.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace whittle::runtime {

std::string measured_split(const StageRecord& s) {
  if (!recorded(s.metrics, "images") || !recorded(s.metrics, "split_images")) return "";
  for (const auto& [name, value] : s.params)
    if (name == "split") return value;
  return "test";
}

std::string measured_on(const StageRecord& s) {
  const std::string split = measured_split(s);
  if (split.empty()) return "";
  const auto n = static_cast<long long>(s.metrics.at("images")),
             of = static_cast<long long>(s.metrics.at("split_images"));
  return n >= of ? fmt::format("{}, all {}", split, of) : fmt::format("{}, {} of {}", split, n, of);
}

bool on_whole_test_split(const StageRecord& s) {
  return measured_split(s) == "test" && s.metrics.at("images") >= s.metrics.at("split_images");
}

std::string record_yaml(const RunRecord& r) {
  YAML::Emitter out;
  out.SetDoublePrecision(17);  // metrics read back exactly
  out << YAML::BeginMap;
  out << YAML::Key << "format" << YAML::Value << r.format;
  out << YAML::Key << "recipe" << YAML::Value << r.recipe;
  out << YAML::Key << "file" << YAML::Value << r.file;
  out << YAML::Key << "recipe_sha256" << YAML::Value << r.recipe_sha256;
  out << YAML::Key << "whittle_version" << YAML::Value << r.whittle_version;
  out << YAML::Key << "libtorch_version" << YAML::Value << r.libtorch_version;
  out << YAML::Key << "device" << YAML::Value << r.device;
  out << YAML::Key << "threads" << YAML::Value << r.threads;
  out << YAML::Key << "started" << YAML::Value << r.started;
  out << YAML::Key << "finished" << YAML::Value << r.finished;
  out << YAML::Key << "stages" << YAML::Value << YAML::BeginSeq;
  for (const StageRecord& s : r.stages) {
    out << YAML::BeginMap;
    out << YAML::Key << "id" << YAML::Value << s.id;
    out << YAML::Key << "kind" << YAML::Value << s.kind;
    out << YAML::Key << "where" << YAML::Value << s.where;
    out << YAML::Key << "file" << YAML::Value << s.file;
    out << YAML::Key << "line" << YAML::Value << s.line;
    out << YAML::Key << "key" << YAML::Value << s.key;
    out << YAML::Key << "inputs" << YAML::Value << YAML::Flow << s.inputs;
    out << YAML::Key << "seed" << YAML::Value << s.seed;
    out << YAML::Key << "params" << YAML::Value << YAML::BeginMap;
    for (const auto& [k, v] : s.params) out << YAML::Key << k << YAML::Value << v;
    out << YAML::EndMap;
    out << YAML::Key << "status" << YAML::Value << s.status;
    out << YAML::Key << "seconds" << YAML::Value << s.seconds;
    if (!s.device.empty()) out << YAML::Key << "device" << YAML::Value << s.device;
    out << YAML::Key << "metrics" << YAML::Value << YAML::BeginMap;
    for (const auto& [k, v] : s.metrics) out << YAML::Key << k << YAML::Value << v;
    out << YAML::EndMap << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string record_json(const RunRecord& r) {
  nlohmann::json j;
  j["format"] = r.format;
  j["recipe"] = r.recipe;
  j["file"] = r.file;
  j["recipe_sha256"] = r.recipe_sha256;
  j["whittle_version"] = r.whittle_version;
  j["libtorch_version"] = r.libtorch_version;
  j["device"] = r.device;
  j["threads"] = r.threads;
  j["stages"] = nlohmann::json::array();
  for (const StageRecord& s : r.stages) {
    nlohmann::json st;
    st["id"] = s.id;
    st["name"] = "#" + std::to_string(s.id) + " " + s.kind;
    st["kind"] = s.kind;
    st["where"] = s.where;
    st["line"] = s.line;
    st["key"] = s.key;
    st["status"] = s.status;
    st["seconds"] = s.seconds;
    if (!s.device.empty()) st["device"] = s.device;
    st["metrics"] = s.metrics;
    nlohmann::json params = nlohmann::json::object();
    for (const auto& [k, v] : s.params) params[k] = v;
    st["params"] = params;
    j["stages"].push_back(st);
  }
  return j.dump(2) + "\n";
}

std::optional<RunRecord> read_record(const std::string& path) {
  try {
    std::string error;
    const auto text = lang::read_regular_file(path, kMaxRecordBytes, error);
    if (!text || lang::bracket_depth(*text) > lang::kMaxBracketDepth) return std::nullopt;
    const YAML::Node n = YAML::Load(*text);
    RunRecord r;
    r.format = n["format"].as<int>();
    if (r.format != kRecordFormat) return std::nullopt;
    r.recipe = n["recipe"].as<std::string>();
    r.file = n["file"].as<std::string>();
    r.recipe_sha256 = n["recipe_sha256"].as<std::string>();
    auto text_of = [&](const char* key) {
      return n[key] && n[key].IsScalar() ? n[key].as<std::string>() : std::string();
    };
    r.whittle_version = text_of("whittle_version");
    r.libtorch_version = text_of("libtorch_version");
    r.device = text_of("device");
    r.started = text_of("started");
    r.finished = text_of("finished");
    if (n["threads"] && n["threads"].IsScalar()) r.threads = n["threads"].as<int>();
    for (const auto& s : n["stages"]) {
      StageRecord sr;
      sr.id = s["id"].as<int>();
      sr.kind = s["kind"].as<std::string>();
      sr.where = s["where"].as<std::string>();
      sr.key = s["key"].as<std::string>();
      sr.line = s["line"].as<int>();
      sr.seed = s["seed"].as<int>();
      sr.status = s["status"].as<std::string>();
      if (s["device"]) sr.device = s["device"].as<std::string>();
      for (const auto& i : s["inputs"]) sr.inputs.push_back(i.as<std::string>());
      for (const auto& kv : s["params"])
        sr.params.emplace_back(kv.first.as<std::string>(), kv.second.as<std::string>());
      for (const auto& kv : s["metrics"]) sr.metrics[kv.first.as<std::string>()] = kv.second.as<double>();
      r.stages.push_back(std::move(sr));
    }
    return r;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void write_record(const RunRecord& r, const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  write_file_atomic(path, record_yaml(r));
}

const StageRecord* record_of(const RunRecord& r, long long id) {
  for (const auto& s : r.stages)
    if (s.id == id) return &s;
  return nullptr;
}

}  // namespace whittle::runtime
