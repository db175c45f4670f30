// Models read back from the cache (inspect.h).
#include "runtime/torch/inspect.h"

#include "runtime/data_files.h"
#include "runtime/executor.h"
#include "runtime/torch/data.h"
#include "runtime/torch/evaluate.h"
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

std::map<std::string, double> recompute_claims(const Plan& plan, int stage_id, const std::string& entry_dir, bool test_accuracy) {
  Net net = load_stage_model(plan, stage_id, entry_dir);
  std::map<std::string, double> out = size_and_cost(net);
  if (test_accuracy) {
    const lang::StageInstance& data = plan.stage(plan.chain_model(stage_id).data_in);
    std::string error;
    auto files = locate_data(data, error, plan.data_dir);
    if (!files) throw StageError(error);
    const Dataset d = load_dataset(data, *files);
    const Scores s = score_predictions(predict(*net.module, d.test_x, 256, torch::kCPU), d.test_y, d.classes);
    out["accuracy"] = s.accuracy;
    out["test_images"] = static_cast<double>(d.test_x.size(0));
  }
  return out;
}

}  // namespace whittle::runtime::torchrt
