// `model torchscript path: P` in the checker: the file found from the recipe's folder, recognised,
// keyed by the runtime; and what a scripted module cannot take refused at its line.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>

#include "tests/lang/helpers.h"

using namespace whittle;
using whittle::test::codes;

namespace {
const std::string kFixtures = std::string(WHITTLE_SOURCE_DIR) + "/tests/fixtures";

std::unique_ptr<lang::Analysis> in_fixtures(const std::string& text) {
  return lang::analyze(kFixtures + "/test.recipe", text);
}

const std::string kHead = "data fashion_mnist\nmodel torchscript path: \"student_net_1ch.pt\"\ntrain 1 epoch\n";
}  // namespace

TEST_CASE("model torchscript reads its file from the recipe's folder", "[check][script]") {
  auto a = in_fixtures(kHead + "evaluate\n");
  REQUIRE(codes(*a).empty());
  const auto& m = a->recipe.stages.at(1);
  CHECK(m.kind == "model");
  CHECK(std::filesystem::path(m.file) == std::filesystem::path(kFixtures) / "student_net_1ch.pt");
  // The path itself is not in the key (the runtime keys the file's content instead).
  const auto* p = m.param("path");
  REQUIRE(p);
  CHECK(p->value.str == "student_net_1ch.pt");
}

TEST_CASE("a missing, foreign or absent scripted file is an error at the model line", "[check][script]") {
  CHECK(codes(*in_fixtures("data fashion_mnist\nmodel torchscript path: \"nope.pt\"\nevaluate\n")) ==
        std::vector<std::string>{"E0112@2"});
  CHECK(codes(*in_fixtures("data fashion_mnist\nmodel torchscript path: \"state_dict.pt\"\nevaluate\n")) ==
        std::vector<std::string>{"E0112@2"});
  CHECK(codes(*in_fixtures("data fashion_mnist\nmodel torchscript path: \"README.md\"\nevaluate\n")) ==
        std::vector<std::string>{"E0112@2"});
  CHECK(codes(*in_fixtures("data fashion_mnist\nmodel torchscript\nevaluate\n")) ==
        std::vector<std::string>{"E0205@2"});
  CHECK(codes(*in_fixtures("data fashion_mnist\nmodel small_cnn path: \"student_net_1ch.pt\"\nevaluate\n")) ==
        std::vector<std::string>{"E0208@2"});
}

TEST_CASE("what needs whittle's own layers is refused on a scripted chain, and only there", "[check][script]") {
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"quantize 8 bits activations: 4 bits\nretrain 1 epoch\n", "E0307@4"},
      {"quantize 8 bits\nretrain 1 epoch\nconvert\n", "E0307@6"},
      {"prune 20% structured physical: true\nretrain 1 epoch\n", "E0307@4"},
      {"prune 20% structured criterion: thinet\nretrain 1 epoch\n", "E0307@4"},
      {"score course2021 convention: profiler\n", "E0307@4"},
  };
  for (const auto& [tail, code] : refused) {
    INFO(tail);
    CHECK(codes(*in_fixtures(kHead + tail + "evaluate\n")) == std::vector<std::string>{code});
    // The same lines on a built-in model's chain are fine.
    CHECK(codes(*in_fixtures("data fashion_mnist\nmodel small_cnn\ntrain 1 epoch\n" + tail + "evaluate\n")).empty());
  }
  // Weight quantization, masked structured pruning and exports are for scripted models too.
  CHECK(
      codes(
          *in_fixtures(
              kHead +
              "prune 20% structured\nretrain 1 epoch\nquantize 4 bits\nretrain 1 epoch\nexport \"m.onnx\"\nevaluate\n"))
          .empty());
  // A later chain from a built-in model is not affected by an earlier scripted one.
  CHECK(codes(*in_fixtures(kHead +
                           "model small_cnn\ntrain 1 epoch\nquantize 8 bits\nretrain 1 epoch\nconvert\nevaluate\n"))
            .empty());
}

TEST_CASE("a confined recipe's scripted path outside its folder is refused unread, one message whatever is there",
          "[check][script][hostile]") {
  lang::CheckOptions o;
  o.confine_to = kFixtures;
  auto message = [&](const std::string& path) {
    auto a = lang::analyze(kFixtures + "/test.recipe",
                           "data fashion_mnist\nmodel torchscript path: \"" + path + "\"\nevaluate\n", o);
    REQUIRE(codes(*a) == std::vector<std::string>{"E0106@2"});
    std::string m = a->diags.all().front().message;
    return m.replace(m.find(path), path.size(), "P");
  };
  // An existing file, a missing one, a folder, a device, a file beside the folder: all the same answer.
  const std::string same = message("/etc/passwd");
  for (const char* p :
       {"/etc/nonexistent-file", "/etc", "/dev/zero", "../lang/helpers.h", "../../../../../../../../etc/passwd"})
    CHECK(message(p) == same);
  CHECK(same == "`path: \"P\"` names a file outside the submission: refused");
  // Inside, as before.
  CHECK(codes(*lang::analyze(kFixtures + "/test.recipe", kHead + "evaluate\n", o)).empty());
}

TEST_CASE("a cut TorchScript archive is called cut, not a torch.save archive", "[check][script]") {
  const auto dir = std::filesystem::temp_directory_path() / ("whittle-cut-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kFixtures + "/student_net_1ch.pt", dir / "cut.pt");
  std::filesystem::resize_file(dir / "cut.pt", std::filesystem::file_size(dir / "cut.pt") / 2);
  auto a =
      lang::analyze((dir / "r.recipe").string(), "data fashion_mnist\nmodel torchscript path: \"cut.pt\"\nevaluate\n");
  REQUIRE(codes(*a) == std::vector<std::string>{"E0112@2"});
  CHECK(a->diags.all().front().message.find("cut short or damaged") != std::string::npos);
  std::filesystem::remove_all(dir);
}
