// The safetensors reader and writer (runtime/system/safetensors.h): what it writes reads back; what a hostile
// file declares is checked against the file before anything is allocated for it.
#include <catch2/catch.hpp>

#include <cstring>
#include <nlohmann/json.hpp>

#include "runtime/system/safetensors.h"

using namespace whittle::runtime::safetensors;

namespace {

/// A file made of a header (JSON text) and `data` bytes, as a hostile maker would write it.
std::string raw(const std::string& header, const std::string& data, std::uint64_t declared = UINT64_MAX) {
  std::string out;
  const std::uint64_t n = declared == UINT64_MAX ? header.size() : declared;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + header + data;
}

std::string why(const std::string& bytes) {
  try {
    parse(bytes);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "accepted";
}

/// What the streaming check says of the same bytes fed in pieces of `step`.
std::string streamed(const std::string& bytes, std::size_t step) {
  StreamCheck c(bytes.size());
  for (std::size_t i = 0; i < bytes.size(); i += step) {
    const std::string w = c.feed(bytes.data() + i, std::min(step, bytes.size() - i));
    if (!w.empty()) return w;
  }
  const std::string w = c.finish();
  return w.empty() ? "accepted" : w;
}

}  // namespace

TEST_CASE("safetensors: what the writer writes reads back, the same bytes for the same input", "[safetensors]") {
  Writer w;
  const float f[6] = {1.5f, -2, 3, 0, 1e-8f, 7};
  const std::int64_t l[2] = {-1, 1LL << 40};
  w.add("p.conv.weight", DType::F32, {2, 3}, f, sizeof f);
  w.add("b.bn.num_batches_tracked", DType::I64, {2}, l, sizeof l);
  w.add("empty", DType::F32, {0, 4}, nullptr, 0);
  w.meta("format", "whittle-model 1");
  w.meta("whittle", "{\"half\": false}");
  const std::string bytes = w.bytes();
  CHECK(bytes == w.bytes());
  // The data starts 8-aligned, and Python's safetensors would read the same header.
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK((8 + n) % 8 == 0);
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  CHECK(header["p.conv.weight"]["dtype"] == "F32");
  CHECK(header["p.conv.weight"]["shape"] == nlohmann::json::array({2, 3}));
  CHECK(header["__metadata__"]["format"] == "whittle-model 1");
  const File file = parse(bytes);
  REQUIRE(file.tensors().size() == 3);
  const TensorInfo* t = file.find("p.conv.weight");
  REQUIRE(t);
  CHECK(t->shape == std::vector<std::int64_t>{2, 3});
  CHECK(file.data(*t) == std::string_view(reinterpret_cast<const char*>(f), sizeof f));
  CHECK(file.data(*file.find("b.bn.num_batches_tracked")) ==
        std::string_view(reinterpret_cast<const char*>(l), sizeof l));
  CHECK(file.find("empty")->shape == std::vector<std::int64_t>{0, 4});
  CHECK(file.meta("whittle") == "{\"half\": false}");
  CHECK(file.meta("absent", "x") == "x");
  CHECK(streamed(bytes, 1) == "accepted");
  CHECK(streamed(bytes, 7) == "accepted");
}

TEST_CASE("safetensors: hostile files are refused by what they declare, before it is allocated",
          "[safetensors][hostile]") {
  const std::string four(16, 'x');  // 16 bytes of data
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "too short"},
      {raw("{}", "", 1ull << 40), "its header declares 1099511627776 bytes, more than the"},
      {raw("{}", "", 100), "its header declares 100 bytes, and the file ends after 2"},
      {raw("[1]", ""), "its header is not a JSON object"},
      {raw(std::string(8, '\0'), ""), "its header is not a JSON object"},
      {raw("{\"a\": ", ""), "its header is not JSON"},
      {raw("{\"a\":{\"shape\":[[[[1]]]]}}", ""), "nests deeper"},
      {raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", four), "accepted"},
      {raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,32]}}", four),
       "has 32 bytes of data where its shape and dtype need 16"},
      {raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2000000000],\"data_offsets\":[0,8000000000]}}", four),
       "declares more bytes than the file may hold"},
      {raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1000],\"data_offsets\":[0,4000]}}", four),
       "its tensors hold 4000 bytes and the file has 16"},
      {raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,16]}}", four),
       "declares more bytes than the file may hold"},
      {raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],"
           "\"data_offsets\":[4,12]}}",
           four),
       "does not begin where the one before it ends"},
      {raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", four),
       "does not begin where the one before it ends"},
      {raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", four),
       "its tensors hold 8 bytes and the file has 16"},
      {raw("{\"a\":{\"dtype\":\"U128\",\"shape\":[2],\"data_offsets\":[0,16]}}", four),
       "has the dtype \"U128\", which whittle does not read"},
      {raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", four),
       "has a shape that is not a list of sizes"},
      {raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,0]}}", four), "has 0 bytes of data"},
      {raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4]}}", four), "has no `data_offsets`"},
      {raw("{\"__metadata__\":{\"k\":1}}", ""), "its metadata `k` is not text"},
  };
  for (const auto& [bytes, says] : cases) {
    INFO(says);
    const std::string w = why(bytes);
    CHECK(w.find(says) != std::string::npos);
    // The streaming check (a pack being unpacked) says the same of the same bytes, in any pieces.
    if (!bytes.empty()) {
      CHECK(streamed(bytes, 3) == w);
      CHECK(streamed(bytes, 1 << 20) == w);
    }
  }
}

TEST_CASE("safetensors: a file is read only when it is a regular file within the bound", "[safetensors][hostile]") {
  Limits small;
  small.max_file = 100;
  Writer w;
  const std::string data(200, 'd');
  w.add("t", DType::U8, {200}, data.data(), data.size());
  CHECK_THROWS_WITH(parse(w.bytes(), small), Catch::Contains("larger than 100 bytes"));
  CHECK_THROWS_WITH(read_file("/dev/zero"), Catch::Contains("/dev/zero"));
  CHECK_THROWS_WITH(read_file("/nonexistent/model.safetensors"), Catch::Contains("/nonexistent/model.safetensors"));
}
