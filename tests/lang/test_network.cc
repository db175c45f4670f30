// Networks written in the recipe: the syntax (declarations, layer blocks, calls, arithmetic), shape
// inference for every layer, the counts (figures worked out by hand in the comments), module names,
// and every shape error.
#include <catch2/catch.hpp>

#include "lang/fmt.h"
#include "lang/network.h"
#include "lang/parser.h"
#include "tests/lang/helpers.h"

using namespace whittle;
using whittle::test::codes;
using whittle::test::run;
using V = std::vector<std::string>;

namespace {

/// The network the first `model` of a recipe builds (the recipe must check cleanly).
std::shared_ptr<const lang::net::Network> built(const std::string& text) {
  auto a = run(text);
  INFO(text);
  REQUIRE(codes(*a) == V{});
  for (const auto& s : a->recipe.stages)
    if (s.network) return s.network;
  FAIL("no network built");
  return nullptr;
}

/// The layer at a module path ("1.body.0").
const lang::net::Layer& at(const lang::net::Network& n, const std::string& path) {
  const lang::net::Layer* l = &n.root;
  std::size_t from = 0;
  while (from <= path.size()) {
    const std::size_t dot = std::min(path.find('.', from), path.size());
    const std::string name = path.substr(from, dot - from);
    const lang::net::Layer* next = nullptr;
    for (const auto& c : l->children)
      if (c.name == name) next = &c;
    INFO(path);
    REQUIRE(next != nullptr);
    l = next;
    from = dot + 1;
  }
  return *l;
}

const std::string kDenseB3 = R"(network densenet_b3(growth: int = 8) {  # DenseNet-B without dense block 4
  conv 2 * $growth channels  # the stem: 3x3, stride 1, padding 1
  dense 6 { bn -> relu -> conv 4 * $growth channels kernel: 1 -> bn -> relu -> conv $growth channels }
  bn -> relu -> conv 50% kernel: 1 -> avgpool  # a transition: half the channels, 2x2 pooling
  dense 10 { bn -> relu -> conv 4 * $growth channels kernel: 1 -> bn -> relu -> conv $growth channels }
  bn -> relu -> conv 50% kernel: 1 -> avgpool
  dense 20 { bn -> relu -> conv 4 * $growth channels kernel: 1 -> bn -> relu -> conv $growth channels }
  bn -> relu -> conv 204 channels kernel: 1 -> avgpool  # transition 3 widened
  bn -> relu -> avgpool global -> linear
}
)";

}  // namespace

TEST_CASE("network declarations, layer blocks, calls and arithmetic parse and print back", "[network][parser]") {
  lang::SourceMap sources;
  lang::Diagnostics diags;
  const auto f = sources.add("t.recipe", kDenseB3 + "data cifar10\nmodel densenet_b3 growth: 6\n");
  const lang::ast::Recipe r = lang::parse(sources, f, diags);
  REQUIRE(diags.all().empty());
  REQUIRE(r.stmts.size() == 3);
  const auto& net = r.stmts[0];
  CHECK(net.kind == lang::ast::Stmt::Kind::Network);
  CHECK(net.name == "densenet_b3");
  REQUIRE(net.params.size() == 1);
  CHECK(net.params[0].name == "growth");
  REQUIRE(net.body.size() == 8);
  const auto& dense = net.body[1].chain.at(0);
  CHECK(dense.name == "dense");
  CHECK(dense.has_body);
  CHECK(dense.body.at(0).chain.size() == 6);
  const auto& conv = dense.body[0].chain[2];
  CHECK(lang::ast::dump(conv.args[0].value) == "(* num 4 $growth) channels");
  // fmt: idempotent; a layer block stays on its line while the line fits in 100 columns.
  const std::string once = lang::format_recipe(r, sources.file(f));
  const auto f2 = sources.add("t2.recipe", once);
  const lang::ast::Recipe r2 = lang::parse(sources, f2, diags);
  REQUIRE(diags.all().empty());
  CHECK(lang::ast::dump(r2) == lang::ast::dump(r));
  CHECK(lang::format_recipe(r2, sources.file(f2)) == once);
  CHECK(once.find("  dense 6 {\n    bn -> relu -> conv 4 * $growth channels") != std::string::npos);
  CHECK(once.find("  bn -> relu -> conv 50% kernel: 1 -> avgpool  # a transition") != std::string::npos);
  const auto f3 = sources.add("t3.recipe", "network n {\n  dense 2 {   bn -> relu }\n  linear\n}\n");
  CHECK(lang::format_recipe(lang::parse(sources, f3, diags), sources.file(f3)) ==
        "network n {\n  dense 2 { bn -> relu }\n  linear\n}\n");

  // Calls, arguments after a block, `as` names, parentheses and both kinds of `{ }`.
  const std::string messy =
      "network n(w: int = 8) {\n  block(w: $w)   as first\n  residual {   conv ($w + 2) * 2 channels\n"
      "    bn } shortcut: projection\n  linear\n}\ntrain 3 epochs { batch: 64 }\n";
  const auto g = sources.add("m.recipe", messy);
  const lang::ast::Recipe m = lang::parse(sources, g, diags);
  REQUIRE(diags.all().empty());
  const auto& call = m.stmts[0].body[0].chain[0];
  CHECK(call.call);
  CHECK(call.as_name == "first");
  const auto& res = m.stmts[0].body[1].chain[0];
  CHECK(res.has_body);
  CHECK(res.args_before_body == 0);
  REQUIRE(res.args.size() == 1);
  CHECK(res.args[0].name == "shortcut");
  CHECK(m.stmts[1].chain[0].has_block);
  CHECK(lang::format_recipe(m, sources.file(g)) ==
        "network n(w: int = 8) {\n  block(w: $w) as first\n  residual {\n    conv ($w + 2) * 2 channels\n    bn\n"
        "  } shortcut: projection\n  linear\n}\ntrain 3 epochs {\n  batch: 64\n}\n");
}

TEST_CASE("arithmetic works wherever a number goes, and `-1` stays a number", "[network][check]") {
  auto a =
      run("let e = 2\ndata cifar10\nmodel resnet18\ntrain ($e + 1) * 2 epochs\nprune $e * 10%\nretrain $e "
          "epochs\nevaluate\n");
  REQUIRE(codes(*a) == V{});
  CHECK(a->recipe.stages[2].value("epochs")->canonical() == "6 epochs");
  CHECK(a->recipe.stages[3].value("amount")->canonical() == "20%");
  CHECK(a->recipe.stages[4].value("epochs")->canonical() == "2 epochs");
  // Not an operator: a sign (two arguments), and `->`.
  lang::SourceMap sources;
  lang::Diagnostics diags;
  const auto f = sources.add("t.recipe", "foo 1 -1 -> bar 2 - 1\n");
  const auto r = lang::parse(sources, f, diags);
  REQUIRE(diags.all().empty());
  CHECK(r.stmts[0].chain.size() == 2);
  CHECK(r.stmts[0].chain[0].args.size() == 2);
  CHECK(lang::ast::dump(r.stmts[0].chain[1].args[0].value) == "(- num 2 num 1)");
  CHECK(codes(*run("let z = 0\ndata cifar10\nmodel resnet18\ntrain 10 / $z epochs\nevaluate\n")) == V{"E0409@4"});
  CHECK(codes(*run("let p = 20%\ndata cifar10\nmodel resnet18\ntrain $p * 2 epochs\nevaluate\n")) == V{"E0201@1"});
  CHECK(codes(*run("data cifar10\nmodel resnet18\ntrain 3 / 2 epochs\nevaluate\n")) == V{});
  CHECK(codes(*run("data cifar10\nmodel resnet18\nrepeat 3 / 2 { evaluate }\n")) == V{"E0202@3"});
}

TEST_CASE("every layer's shape and counts, worked out by hand", "[network][shapes]") {
  // conv 8: 8·3·3² = 216 params, 8·32·32·3·9 = 221,184 MACs; bn: 16; maxpool: 8×16×16;
  // conv 16 stride 2: 16·8·9 = 1,152 params, 16·8·8·8·9 = 73,728 MACs; global pool: 16×1×1;
  // linear: 16·10 + 10 = 170 params, 160 MACs. Totals 1,554 and 295,072.
  auto n = built(
      "network tiny {\n  conv 8 channels -> bn -> relu -> maxpool\n  conv 16 channels stride: 2\n"
      "  avgpool global -> dropout 10% -> linear\n}\ndata cifar10\nmodel tiny\nevaluate\n");
  CHECK(n->input.text() == "3×32×32");
  CHECK(at(*n, "0").params == 216);
  CHECK(at(*n, "0").macs == 221184);
  CHECK(at(*n, "1").params == 16);
  CHECK(at(*n, "3").out.text() == "8×16×16");
  CHECK(at(*n, "4").out.text() == "16×8×8");
  CHECK(at(*n, "4").padding == 1);
  CHECK(at(*n, "5").out.text() == "16×1×1");
  CHECK(at(*n, "6").p == Approx(0.1));
  CHECK(at(*n, "7").out.text() == "10");
  CHECK(n->root.params == 1554);
  CHECK(n->root.macs == 295072);

  // A residual block that halves the map: the shortcut becomes a 1x1 projection with stride 2.
  // Stem 16·3·9 = 432 params, 16·1024·27 = 442,368 MACs; body conv 32·16·9 = 4,608 (MACs
  // 32·256·144 = 1,179,648), bn 64, conv 32·32·9 = 9,216 (2,359,296), bn 64; shortcut 32·16 = 512
  // (131,072), bn 64; linear 330 (320). Totals 15,290 params, 4,112,704 MACs.
  n = built(
      "network res {\n  conv 16 channels\n  residual { conv 32 channels stride: 2 -> bn -> relu -> conv 32 channels -> "
      "bn }\n"
      "  avgpool global -> linear\n}\ndata cifar10\nmodel res\nevaluate\n");
  CHECK(at(*n, "1.body.0").out.text() == "32×16×16");
  CHECK(at(*n, "1.shortcut.0").stride == 2);
  CHECK(at(*n, "1.shortcut.0").params == 512);
  CHECK(at(*n, "1.shortcut.1").op == lang::net::Op::BatchNorm);
  CHECK(at(*n, "1").params == 14528);
  CHECK(n->root.params == 15290);
  CHECK(n->root.macs == 4112704);

  // Dense: 8 → 12 → 16 channels (bn 16 + conv 4·8·9 = 288; bn 24 + conv 4·12·9 = 432), then
  // `conv 50%` of 16 = 8 channels (128 params) and the head 8·10 + 10 = 90. Total 8·3·9 + ... = 1,194.
  n = built(
      "network d {\n  conv 8 channels\n  dense 2 { bn -> relu -> conv 4 channels }\n  conv 50% kernel: 1 -> avgpool\n"
      "  avgpool global -> linear\n}\ndata cifar10\nmodel d\nevaluate\n");
  CHECK(at(*n, "1").out.text() == "16×32×32");
  CHECK(at(*n, "1.1.2").in.c == 12);
  CHECK(at(*n, "2").out.c == 8);
  CHECK(at(*n, "3").out.text() == "8×16×16");
  CHECK(n->root.params == 216 + 16 + 288 + 24 + 432 + 128 + 90);
  CHECK(n->root.macs == 221184 + 294912 + 442368 + 131072 + 80);

  // Fashion-MNIST is 1×28×28; grouped and depthwise convs; a linear that is not the last layer.
  n = built(
      "network f {\n  conv 8 channels -> conv 8 channels groups: 2 -> conv 100% depthwise: true\n"
      "  linear 32 outputs -> relu -> bn -> linear\n}\ndata fashion_mnist\nmodel f\nevaluate\n");
  CHECK(n->input.text() == "1×28×28");
  CHECK(at(*n, "1").params == 8 * 4 * 9);
  CHECK(at(*n, "2").groups == 8);
  CHECK(at(*n, "2").params == 8 * 9);
  CHECK(at(*n, "3").params == 8 * 28 * 28 * 32 + 32);
  CHECK(at(*n, "5").params == 64);
  CHECK(at(*n, "6").out.text() == "10");
}

TEST_CASE("module names follow nn.Sequential: indices, `as` names, defines and repeats", "[network][names]") {
  const std::string defs =
      "define unit(c: int) {\n  conv $c channels -> bn -> relu\n}\ndefine one(c: int) {\n  conv $c channels\n}\n";
  auto n = built(defs +
                 "network n {\n  one(c: 8) as stem\n  repeat 2 { unit(c: 8) }\n  relu as act -> avgpool global\n"
                 "  linear as head\n}\ndata cifar10\nmodel n\nevaluate\n");
  CHECK(at(*n, "stem").op == lang::net::Op::Conv);     // a define of one layer is that layer
  CHECK(at(*n, "1").op == lang::net::Op::Sequential);  // of several, a block
  CHECK(at(*n, "1.0").op == lang::net::Op::Conv);
  CHECK(at(*n, "2.1").op == lang::net::Op::BatchNorm);  // repeat inlines: indices go on
  CHECK(at(*n, "act").op == lang::net::Op::ReLU);
  CHECK(at(*n, "4").op == lang::net::Op::AvgPool);
  CHECK(at(*n, "head").op == lang::net::Op::Linear);
  const std::string table = lang::net::layer_table(*n);
  CHECK(table.find("stem") != std::string::npos);
  CHECK(table.find("1.0") != std::string::npos);
  CHECK(table.find("total") != std::string::npos);
  CHECK(lang::net::layer_table_json(*n).find("\"module\": \"head\"") != std::string::npos);
  CHECK(
      codes(*run("network n {\n  conv 8 channels as a\n  relu as a\n  linear\n}\ndata cifar10\nmodel n\nevaluate\n")) ==
      V{"E0105@3"});
  CHECK(codes(*run("network n {\n  conv 8 channels\n  relu as 0\n  linear\n}\ndata cifar10\nmodel n\nevaluate\n"))
            .size() == 1);
}

TEST_CASE("a network's parameters are the model stage's knobs, and part of the key", "[network][check]") {
  auto a = run(kDenseB3 +
               "data cifar10\nmodel densenet_b3\nevaluate\nmodel densenet_b3 growth: 6\nevaluate\n"
               "sweep g in [4, 6] { model densenet_b3 growth: $g -> evaluate }\n");
  REQUIRE(codes(*a) == V{});
  const auto& m8 = a->recipe.stages[1];
  CHECK(m8.value("arch")->canonical() == "densenet_b3");
  CHECK(m8.value("growth")->canonical() == "8");
  CHECK(m8.param("growth")->origin == lang::Origin::Default);
  REQUIRE(m8.network);
  const auto& m6 = a->recipe.stages[3];
  CHECK(m6.param("growth")->origin == lang::Origin::Given);
  REQUIRE(m6.network);
  CHECK(m6.network->canonical() != m8.network->canonical());
  CHECK(a->recipe.stages[5].network->canonical() != a->recipe.stages[7].network->canonical());
  // DenseNet-B3, growth 8: 16 → +6·8 = 64 → 32 → +80 = 112 → 56 → +160 = 216 → 204 channels.
  CHECK(at(*m8.network, "1").out.c == 64);
  CHECK(at(*m8.network, "4").out.c == 32);
  CHECK(at(*m8.network, "11").out.c == 216);
  CHECK(at(*m8.network, "15").out.text() == "204×4×4");
  CHECK(at(*m8.network, "19").out.text() == "10");
  // The arguments are checked as a define's are.
  CHECK(codes(*run(kDenseB3 + "data cifar10\nmodel densenet_b3 growht: 6\nevaluate\n")) == V{"E0101@12"});
  CHECK(codes(*run(kDenseB3 + "data cifar10\nmodel densenet_b3 growth: 6%\nevaluate\n")) == V{"E0201@12"});
}

TEST_CASE("every shape error names its line and the shapes", "[network][errors]") {
  const std::string tail = "data cifar10\nmodel n\nevaluate\n";
  auto one = [&](const std::string& body) { return codes(*run("network n {\n" + body + "}\n" + tail)); };
  CHECK(one("  conv 16 channels\n  residual { conv 32 channels } shortcut: identity\n  linear\n") == V{"E0401@3"});
  CHECK(one("  conv 16 channels stride: 2\n  residual { conv 16 channels kernel: 2 padding: 0 }\n  linear\n") ==
        V{"E0401@3"});
  CHECK(one("  repeat 6 { maxpool }\n  linear\n") == V{"E0402@2"});
  CHECK(one("  conv 8 channels kernel: 40 padding: 0\n  linear\n") == V{"E0402@2"});
  CHECK(one("  conv 9 channels groups: 2\n  linear\n") == V{"E0403@2"});
  CHECK(one("  dense 2 { maxpool }\n  linear\n") == V{"E0404@2"});
  CHECK(one("  linear 8 outputs\n  avgpool global\n  linear\n") == V{"E0405@3"});
  CHECK(one("  conv 8 channels\n") == V{"E0406@1"});
  CHECK(one("  linear 7 outputs\n") == V{"E0406@2"});
  CHECK(one("  train 1 epoch\n  linear\n") == V{"E0407@2"});
  CHECK(one("  sweep a in [1, 2] { relu }\n  linear\n") == V{"E0407@2"});
  CHECK(one("  relu { conv 8 channels }\n  linear\n") == V{"E0407@2"});
  CHECK(one("  residual\n  linear\n") == V{"E0407@2"});
  CHECK(one("  cnov 8 channels\n  linear\n") == V{"E0102@2"});
  auto a = run("network n {\n  conv 64\n  linear\n}\n" + tail);
  REQUIRE(codes(*a) == V{"E0207@2"});
  CHECK(*test::find(*a, "E0207")->help == "did you mean `64 channels`?");
  a = run(
      "network n {\n  conv 16 channels\n  residual { conv 32 channels stride: 2 } shortcut: identity\n  linear\n}\n" +
      tail);
  CHECK(test::find(*a, "E0401")->message.find("16×32×32 into 32×16×16") != std::string::npos);
  // A misspelt network is suggested like a misspelt architecture.
  a = run("network my_net {\n  linear\n}\ndata cifar10\nmodel my_nte\nevaluate\n");
  REQUIRE(codes(*a) == V{"E0103@5"});
  CHECK(*test::find(*a, "E0103")->help == "did you mean `my_net`?");
  // Outside a network: layers are refused, and so are layer blocks on stages.
  CHECK(codes(*run("data cifar10\nmodel resnet18\nconv 8 channels\nevaluate\n")) == V{"E0407@3"});
  CHECK(codes(*run("data cifar10\nmodel resnet18\ntrain 1 epoch { evaluate }\nevaluate\n")) == V{"E0407@3"});
  CHECK(codes(*run("repeat 2 { network n { linear } }\n" + tail)).front().rfind("E0001", 0) == 0);
  // Names: a network may not hide a built-in architecture, a stage, a layer or a define.
  const std::string zoo = "data cifar10\nmodel resnet18\nevaluate\n";
  CHECK(codes(*run("network resnet18 { linear }\n" + zoo)) == V{"E0408@1"});
  CHECK(codes(*run("network train { linear }\n" + zoo)) == V{"E0408@1"});
  CHECK(codes(*run("network conv { linear }\n" + zoo)) == V{"E0408@1"});
  CHECK(codes(*run("define b() {\n  relu\n}\nnetwork b { linear }\n" + zoo)) == V{"E0408@4"});
  CHECK(codes(*run("network n { linear }\nnetwork n { linear }\n" + tail)) == V{"E0408@2"});
  CHECK(codes(*run("define b() {\n  relu\n}\nnetwork n {\n  b() -> b()\n  linear\n}\n" + tail)) == V{});
  CHECK(codes(*run("define b() {\n  b()\n}\nnetwork n {\n  b()\n  linear\n}\n" + tail)) == V{"E0306@2"});
}

TEST_CASE("a shape error inside a repeat says which repetition", "[network]") {
  auto a = whittle::test::run(
      "network n {\n  conv 8 channels\n  repeat 6 {\n    conv 50%\n  }\n  avgpool global -> linear\n}\n"
      "data synthetic\nmodel n\nevaluate\n");
  const auto* d = whittle::test::find(*a, "E0203");
  REQUIRE(d);
  REQUIRE_FALSE(d->notes.empty());
  CHECK(d->notes.front() == "in repetition 4 of 6 of the `repeat` on line 3");
}

TEST_CASE("airbench's layers: shapes and counts, their errors, and networks without them keep their keys",
          "[network][airbench]") {
  // A network of the first release's layers: its canonical text, and so its cache key, is what it was.
  auto old = built(
      "network n {\n  conv 8 channels -> bn -> relu -> maxpool\n  linear bias: false\n}\ndata cifar10\nmodel "
      "n\nevaluate\n");
  CHECK(old->canonical() ==
        "network n input 3×32×32 classes 10 "
        "=sequential{0=conv(3,8,3x3,s1,p1,g1,b0);1=bn(8);2=relu;3=maxpool(2x2,s2,p0);4=linear(2048,10,b0)}");
  // whiten 2x2 on 3 channels: 2·12 = 24 filters, 31×31; params 24·12 + 24 = 312, MACs 24·961·12 = 276,768.
  auto n = built(
      "network n {\n  whiten -> gelu\n  conv 8 channels init: dirac -> bn momentum: 0.4 eps: 1e-12 learn_scale: false "
      "-> gelu\n"
      "  maxpool global -> linear bias: false scale: 1 / 9\n}\ndata cifar10\nmodel n\nevaluate\n");
  CHECK(at(*n, "0").out.text() == "24×31×31");
  CHECK(at(*n, "0").params == 312);
  CHECK(at(*n, "0").macs == 276768);
  CHECK(at(*n, "0").bias_epochs == 3);
  CHECK(at(*n, "0").images == 5000);
  CHECK(at(*n, "2").dirac);
  CHECK(at(*n, "3").momentum == Approx(0.4));
  CHECK_FALSE(at(*n, "3").learn_scale);
  CHECK(at(*n, "6").scale == Approx(1.0 / 9));
  const std::string c = n->canonical();
  CHECK(c.find("0=whiten(3,24,2x2,eps0.00050000000000000001,e3,n5000)") != std::string::npos);
  CHECK(c.find("[dirac]") != std::string::npos);
  CHECK(c.find("3=bn(8)[m0.40000000000000002,eps9.9999999999999998e-13,s0]") != std::string::npos);
  CHECK(c.find("[x0.1111111111111111]") != std::string::npos);
  CHECK(lang::net::layer_table(*n).find("whiten 2x2 3→24") != std::string::npos);
  // Errors: a `whiten` after another layer; dirac on a grouped conv.
  const std::string tail = "data cifar10\nmodel n\nevaluate\n";
  CHECK(codes(*run("network n {\n  conv 8 channels\n  whiten\n  linear\n}\n" + tail)) == V{"E0407@3"});
  CHECK(codes(*run("network n {\n  conv 8 channels\n  conv 8 channels groups: 2 init: dirac\n  linear\n}\n" + tail)) ==
        V{"E0208@3"});
  CHECK(codes(*run("network n {\n  whiten kernel: 40\n  linear\n}\n" + tail)) == V{"E0203@2"});
}
