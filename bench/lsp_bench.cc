// Language server latency on a 200-line recipe (bench/recipes.h), in-process: a change to its
// last line until the diagnostics are ready, hover on a stage, and completion inside a stage line.
// Prints the median and the 90th percentile of each, in milliseconds.
//   build/bench/lsp_bench [repetitions]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/recipes.h"
#include "runtime/lsp/positions.h"
#include "runtime/lsp/server.h"

namespace {
using Clock = std::chrono::steady_clock;
using whittle::lsp::json;

struct Timing {
  std::vector<double> ms;
  void report(const char* what) {
    std::sort(ms.begin(), ms.end());
    fmt::print("{:<44} median {:7.2f} ms   p90 {:7.2f} ms   ({} runs)\n", what, ms[ms.size() / 2],
               ms[ms.size() * 9 / 10], ms.size());
  }
};

template <class F>
double time_ms(F&& f) {
  const auto t0 = Clock::now();
  f();
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}
}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 50;
  const std::string uri = "file:///tmp/whittle_lsp_bench.recipe";
  const std::string text = whittle::bench::recipe_200();
  whittle::lsp::Server s;
  s.handle({{"jsonrpc", "2.0"}, {"id", 0}, {"method", "initialize"}, {"params", json::object()}});
  s.handle({{"jsonrpc", "2.0"},
            {"method", "textDocument/didOpen"},
            {"params", {{"textDocument", {{"uri", uri}, {"languageId", "whittle"}, {"version", 1}, {"text", text}}}}}});
  const auto lines = std::count(text.begin(), text.end(), '\n');
  // The position of a known stage line: "model densenet_b3 growth: 6", and inside a prune line.
  const std::size_t model_at = text.find("model densenet_b3"), prune_at = text.find("prune 20% global") + 10;
  const json model_pos = whittle::lsp::position_of(text, model_at + 2),
             prune_pos = whittle::lsp::position_of(text, prune_at);
  Timing change, hover, complete;
  for (int i = 0; i < reps; ++i) {
    const std::string edited = text + (i % 2 ? "evaluate\n" : "# an edit\n");
    change.ms.push_back(time_ms([&] {
      s.handle({{"jsonrpc", "2.0"},
                {"method", "textDocument/didChange"},
                {"params",
                 {{"textDocument", {{"uri", uri}, {"version", i + 2}}},
                  {"contentChanges", json::array({{{"text", edited}}})}}}});
    }));
    hover.ms.push_back(time_ms([&] {
      s.handle({{"jsonrpc", "2.0"},
                {"id", 1},
                {"method", "textDocument/hover"},
                {"params", {{"textDocument", {{"uri", uri}}}, {"position", model_pos}}}});
    }));
    complete.ms.push_back(time_ms([&] {
      s.handle({{"jsonrpc", "2.0"},
                {"id", 2},
                {"method", "textDocument/completion"},
                {"params", {{"textDocument", {{"uri", uri}}}, {"position", prune_pos}}}});
    }));
  }
  fmt::print("whittle lsp on a {}-line recipe (targets: diagnostics 20 ms, hover and completion 10 ms)\n", lines);
  change.report("change → diagnostics published");
  hover.report("hover on a stage");
  complete.report("completion inside a stage line");
}
