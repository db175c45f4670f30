// Models read back from the cache (inspect.h).
#include "runtime/torch/inspect.h"

#include "runtime/torch/models.h"
#include "runtime/torch/score.h"

namespace whittle::runtime::torchrt {

std::vector<LayerStats> stage_layers(const Plan& plan, int stage_id, const std::string& entry_dir) {
  const Net net = load_stage_model(plan, stage_id, entry_dir);
  std::vector<LayerStats> out;
  torch::NoGradGuard no_grad;
  for (const auto& l : net.layers()) {
    LayerStats s;
    s.name = l.name;
    s.weights = l.weight.numel();
    s.nonzero = Net::effective_weight(l).ne(0).sum().item<std::int64_t>();
    auto it = net.module->layer_macs.find(l.name);
    s.macs = it == net.module->layer_macs.end() ? 0 : it->second;
    s.weight_bits = weight_bits(net, l);
    s.activation_bits = activation_bits(net, l);
    out.push_back(s);
  }
  return out;
}

}  // namespace whittle::runtime::torchrt
