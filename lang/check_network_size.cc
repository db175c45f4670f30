// The bound on a written network's size (E0410), from its shapes alone: plan, run and the editor's
// hover never try to build a network no machine of the course holds.
#include <fmt/format.h>

#include "lang/checker.h"

namespace whittle::lang {
namespace {

using net::Layer;
using net::Op;

/// What a network costs, summed in doubles (no overflow however wide its layers): learnable values,
/// multiply-accumulates for one image, and the activation values one image leaves for the backward
/// pass (every layer's output).
struct Totals {
  double params = 0, macs = 0, activations = 0;
};

void add_totals(const Layer& l, Totals& t) {
  if (l.children.empty()) {
    t.params += static_cast<double>(l.params);
    t.macs += static_cast<double>(l.macs);
  }
  if (l.op != Op::Sequential) t.activations += static_cast<double>(l.out.size());
  for (const Layer& c : l.children) add_totals(c, t);
}

/// 38.7G, 134M, 12.3k: a count for a message.
std::string count_text(double n) {
  if (n >= 1e12) return fmt::format("{:.3g}T", n / 1e12);
  if (n >= 1e9) return fmt::format("{:.3g}G", n / 1e9);
  if (n >= 1e6) return fmt::format("{:.3g}M", n / 1e6);
  if (n >= 1e3) return fmt::format("{:.3g}k", n / 1e3);
  return fmt::format("{:.0f}", n);
}

}  // namespace

bool Checker::network_fits(const net::Network& n, Span name, Span model, const std::string& dataset) {
  Totals t;
  add_totals(n.root, t);
  if (t.params <= net::kMaxNetworkParams && t.macs <= net::kMaxNetworkMacs &&
      t.activations <= net::kMaxNetworkActivations)
    return true;
  diags_.add(
      Diagnostic::make("E0410", name,
                       fmt::format("`{}` on {} has {} parameters, {} MACs and {} activation values per image", n.name,
                                   dataset, count_text(t.params), count_text(t.macs), count_text(t.activations)),
                       "too large to build")
          .with_label(model, fmt::format("built for {} here", dataset))
          .with_note(fmt::format(
              "whittle builds networks of at most {} parameters, {} MACs and {} activation values per image "
              "(ResNet18 on CIFAR-10 has 11.2M parameters and 556M MACs)",
              count_text(net::kMaxNetworkParams), count_text(net::kMaxNetworkMacs),
              count_text(net::kMaxNetworkActivations)))
          .with_help("use fewer channels or fewer layers"));
  return false;
}

}  // namespace whittle::lang
