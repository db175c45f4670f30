// The parser: every form of docs/language.md, error messages at commit points, recovery.
#include <catch2/catch.hpp>

#include "lang/ast.h"
#include "lang/parser.h"
#include "tests/lang/helpers.h"

using namespace whittle::lang;

namespace {
struct Parsed {
  SourceMap sources;
  Diagnostics diags;
  ast::Recipe recipe;
};
Parsed parse_text(const std::string& text) {
  Parsed p;
  const FileId f = p.sources.add("t.recipe", text);
  p.recipe = parse(p.sources, f, p.diags);
  return p;
}
std::string dump_of(const std::string& text) { return ast::dump(parse_text(text).recipe); }
}  // namespace

TEST_CASE("parses the whole recipe of docs/language.md", "[parser]") {
  const std::string text = R"(# DenseNet-B pruned with learning-rate rewinding, then 4-bit APoT
recipe densenet_b_lrr

data  cifar10 augment: [crop(pad: 4), flip]
model densenet growth: 8 blocks: [6, 10, 20, 12]

let sgd = sgd(lr: 0.1, momentum: 0.9, weight_decay: 1e-4)

train 120 epochs optimizer: $sgd schedule: step(at: [90, 110], gamma: 0.1)
repeat 7 {
  prune 20% global l1
  retrain 60 epochs rewind: lr
}
quantize 4 bits apot
retrain 30 epochs
evaluate
score course2025
)";
  Parsed p = parse_text(text);
  REQUIRE(p.diags.empty());
  CHECK(ast::dump(p.recipe) == R"(recipe densenet_b_lrr
chain
  stage data(word cifar10, augment: [call crop(pad: num 4), word flip])
chain
  stage model(word densenet, growth: num 8, blocks: [num 6, num 10, num 20, num 12])
let sgd = call sgd(lr: num 0.1, momentum: num 0.9, weight_decay: num 1e-4)
chain
  stage train(qty 120 epochs, optimizer: $sgd, schedule: call step(at: [num 90, num 110], gamma: num 0.1))
repeat num 7
  chain
    stage prune(qty 20 percent, word global, word l1)
  chain
    stage retrain(qty 60 epochs, rewind: word lr)
chain
  stage quantize(qty 4 bits, word apot)
chain
  stage retrain(qty 30 epochs)
chain
  stage evaluate()
chain
  stage score(word course2025)
)");
  CHECK(p.recipe.comments.size() == 1);
}

TEST_CASE("parses the other forms of docs/language.md", "[parser]") {
  CHECK(dump_of("sweep amount in 0%..80% by 5% { prune $amount global l1 -> evaluate }   # whittle: "
                "allow(prune_without_retrain)\n") ==
        "sweep amount in range[qty 0 percent, qty 80 percent, qty 5 percent]\n  chain\n    stage prune($amount, word "
        "global, "
        "word l1)\n    stage evaluate()\n");
  CHECK(dump_of("train 300 epochs batch: 256 distill: kd(teacher: $teacher, temperature: 4, alpha: 0.9)\n") ==
        "chain\n  stage train(qty 300 epochs, batch: num 256, distill: call kd(teacher: $teacher, temperature: num 4, "
        "alpha: num 0.9))\n");
  CHECK(dump_of("prune 50% structured l1 physical: true\n") ==
        "chain\n  stage prune(qty 50 percent, word structured, word l1, physical: true)\n");
  CHECK(dump_of("export \"out/model.pt\"\n") == "chain\n  stage export(str \"out/model.pt\")\n");
  CHECK(dump_of("train 200 epochs as teacher\nfrom $teacher\nseed 3\n") ==
        "chain\n  stage train(qty 200 epochs) as teacher\nfrom $teacher\nseed num 3\n");
  CHECK(dump_of("use \"std/rewinding.recipe\"\n") == "use str \"std/rewinding.recipe\"\n");
  CHECK(dump_of("define lrr(rounds: int = 7, crit: l1|l2) {\n  repeat $rounds { prune 20% $crit }\n}\n") ==
        "define lrr(rounds: int = num 7, crit: l1|l2)\n  repeat $rounds\n    chain\n      stage prune(qty 20 percent, "
        "$crit)\n");
}

TEST_CASE("statements end at newlines or semicolons, brackets and -> continue lines", "[parser]") {
  CHECK(dump_of("prune 20%; evaluate\n") == "chain\n  stage prune(qty 20 percent)\nchain\n  stage evaluate()\n");
  CHECK(dump_of("train 3 epochs ->\n  evaluate\n") == "chain\n  stage train(qty 3 epochs)\n  stage evaluate()\n");
  CHECK(dump_of("model densenet blocks: [6,\n  10]\n") ==
        "chain\n  stage model(word densenet, blocks: [num 6, num 10])\n");
  CHECK(dump_of("train 3 epochs {\n  batch: 64\n  label_smoothing: 0.1, clip: 5\n}\n") ==
        "chain\n  stage train(qty 3 epochs, batch: num 64, label_smoothing: num 0.1, clip: num 5)\n");
}

TEST_CASE("numbers keep their lexeme, units and signs parse", "[parser]") {
  CHECK(dump_of("x a: 1e-4 b: -0.5 c: .5 d: 1 epoch e: 1 bit f: 2 bits\n") ==
        "chain\n  stage x(a: num 1e-4, b: num -0.5, c: num .5, d: qty 1 epochs, e: qty 1 bits, f: qty 2 bits)\n");
  CHECK(dump_of("sweep x in 1..5 { e }\n") == "sweep x in range[num 1, num 5]\n  chain\n    stage e()\n");
}

TEST_CASE("keywords are not stage names or bare words", "[parser]") {
  Parsed p = parse_text("train 3 epochs ->\nrepeat 2 { prune 20% }\n");
  REQUIRE(p.diags.count(Severity::Error) >= 1);
  CHECK(p.diags.all()[0].code == "E0003");
  CHECK(p.diags.all()[0].message == "expected a stage after `->`, found `repeat`");
}

TEST_CASE("a file with many syntax errors reports each and keeps the good statements", "[parser]") {
  Parsed p = parse_text(
      "train 20 epochs lr:\n"  // E0003 missing value
      "prune 20%% global\n"    // E0001 stray token
      "evaluate\n"             // fine
      "let x = [1, 2\n"        // E0002 unclosed list (reported on the next line)
      "export \"abc\n"         // E0004 unterminated string
      "}\n"                    // E0001 stray }
      "score course2025\n");   // fine
  std::vector<std::string> codes;
  for (const auto& d : p.diags.all()) codes.push_back(d.code);
  CHECK(codes == std::vector<std::string>{"E0003", "E0001", "E0002", "E0001"});
  // The unclosed list swallows `export "abc`, whose string error is then not reported twice.
  const std::string dump = ast::dump(p.recipe);
  CHECK(dump.find("stage evaluate()") != std::string::npos);
  CHECK(dump.find("stage score(word course2025)") != std::string::npos);
}

TEST_CASE("an unclosed block points at its opening brace", "[parser]") {
  Parsed p = parse_text("repeat 3 {\n  prune 20%\n  retrain 1 epoch\n");
  REQUIRE(p.diags.all().size() == 1);
  const Diagnostic& d = p.diags.all()[0];
  CHECK(d.code == "E0002");
  CHECK(d.message == "expected `}` to close the block, found the end of the file");
  REQUIRE(d.labels.size() == 2);
  CHECK(p.sources.file(0).line_of(d.primary().begin) == 1);  // the brace is the place to look
  CHECK(d.labels[0].text == "this is never closed");
  CHECK(d.labels[1].text == "the file ends here");
}

TEST_CASE("an unterminated string points at the string", "[parser]") {
  Parsed p = parse_text("export \"out/model.pt\nevaluate\n");
  REQUIRE(p.diags.all().size() == 1);
  CHECK(p.diags.all()[0].code == "E0004");
  CHECK(p.diags.all()[0].labels[0].span.begin == 7);
  CHECK(ast::dump(p.recipe) == "chain\n  stage evaluate()\n");
}

TEST_CASE("deep nesting is refused before parsing", "[parser]") {
  Parsed p = parse_text("let x = " + std::string(200, '[') + std::string(200, ']') + "\n");
  REQUIRE(p.diags.all().size() == 1);
  CHECK(p.diags.all()[0].message.find("nest more than") != std::string::npos);
}

TEST_CASE("comments are found outside strings only", "[parser]") {
  Parsed p = parse_text("# head\nexport \"a#b\"  # tail\n  # standalone\n");
  REQUIRE(p.recipe.comments.size() == 3);
  CHECK(p.recipe.comments[0].text == "# head");
  CHECK_FALSE(p.recipe.comments[0].trailing);
  CHECK(p.recipe.comments[1].text == "# tail");
  CHECK(p.recipe.comments[1].trailing);
  CHECK_FALSE(p.recipe.comments[2].trailing);
}

TEST_CASE("empty input, blank lines and CRLF line endings parse", "[parser]") {
  CHECK(parse_text("").diags.empty());
  CHECK(parse_text("\n\n  \n;;\n").diags.empty());
  Parsed p = parse_text("data cifar10\r\nevaluate\r\n");
  CHECK(p.diags.empty());
  CHECK(ast::dump(p.recipe) == "chain\n  stage data(word cifar10)\nchain\n  stage evaluate()\n");
}
