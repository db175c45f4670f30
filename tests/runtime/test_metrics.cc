// The one table of metrics (runtime/plan/metrics.h): formats, the claims, and names that are not metrics.
#include <catch2/catch.hpp>

#include <set>

#include "lang/catalog.h"
#include "runtime/plan/architectures.h"
#include "runtime/plan/metrics.h"
#include "runtime/plan/record.h"

using namespace whittle::runtime;

TEST_CASE("a metric is shown as its table says, and a missing one as a dash", "[metrics]") {
  const Metrics m = {{"accuracy", 0.91234}, {"macs", 555422720},  {"params", 11173962},
                     {"sparsity", 0.8},     {"score", 0.0359512}, {"latency_ms", 3.14159}};
  CHECK(format_metric(m, "accuracy") == "91.23%");
  CHECK(format_metric(m, "macs") == "555.4M");
  CHECK(format_metric({{"macs", 1.5e9}}, "macs") == "1.5G");
  CHECK(format_metric({{"macs", 310600}}, "macs") == "310.6K");
  CHECK(format_metric(m, "params") == "11173962");
  CHECK(format_metric(m, "sparsity") == "80.0%");
  CHECK(format_metric(m, "score") == "0.035951");
  CHECK(format_metric(m, "latency_ms") == "3.14 ms");
  CHECK(format_metric(m, "f1") == "-");
  CHECK(raw_metric(m, "accuracy") == "0.91234");
  CHECK(raw_metric(m, "f1").empty());
  CHECK(measured(m, "score"));
  CHECK_FALSE(measured(m, "bits"));
}

TEST_CASE("a name that is not in the metric table is a programming error, not a silent dash", "[metrics]") {
  CHECK_THROWS_AS(format_metric({}, "acuracy"), std::logic_error);
  CHECK_THROWS_AS(measured({}, "nonzeros"), std::logic_error);
  CHECK_THROWS_AS(metric_def("top5"), std::logic_error);
}

TEST_CASE("the claims of a submission are the table's claimed metrics, each named once", "[metrics]") {
  std::set<std::string> keys, claimed;
  for (const auto& d : metric_defs()) {
    CHECK(keys.insert(d.key).second);
    if (d.claimed) claimed.insert(d.key);
  }
  CHECK(claimed == std::set<std::string>{"accuracy", "params", "nonzero", "sparsity", "macs", "bits", "score",
                                         "score_course2024", "score_course2021", "score_micronet2019", "size_mib",
                                         "packed_mib", "sparse_mib"});
}

TEST_CASE("every score preset has its metric, course2025 under the name older run records have", "[metrics]") {
  CHECK(score_presets().front() == "course2025");
  CHECK(score_key("course2025") == "score");
  CHECK(score_key("course2021") == "score_course2021");
  for (const auto& p : score_presets()) {
    CHECK(metric_def(score_key(p)).claimed);
    CHECK(std::string(metric_def(score_key(p)).header) == p);  // a column says its preset
  }
  CHECK_THROWS_AS(score_key("course2020"), std::logic_error);
}

TEST_CASE("the doc's architectures and presets are the catalog's and the metrics'", "[metrics]") {
  std::vector<std::string> archs, presets;
  for (const auto& a : whittle::runtime::architectures()) archs.push_back(a.name);
  for (const auto& p : whittle::runtime::score_preset_docs()) presets.push_back(p.name);
  const auto& cat = whittle::lang::Catalog::builtin();
  // `torchscript` is no architecture whittle builds: it loads a module scripted in PyTorch (`path:`).
  std::vector<std::string> built = cat.stage("model")->param("arch")->type.values;
  REQUIRE(built.back() == "torchscript");
  built.pop_back();
  CHECK(archs == built);
  CHECK(presets == whittle::runtime::score_presets());
}
