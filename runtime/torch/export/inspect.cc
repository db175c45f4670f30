// Models read back from the cache (inspect.h).
#include "runtime/torch/export/inspect.h"

#include <fmt/format.h>

#include <cmath>

#include "runtime/cache/data_files.h"
#include "runtime/plan/export_format.h"
#include "runtime/plan/params.h"
#include "runtime/plan/stage.h"
#include "runtime/torch/compression/model_file.h"
#include "runtime/torch/compression/score.h"
#include "runtime/torch/data/data.h"
#include "runtime/torch/export/export.h"
#include "runtime/torch/models/models.h"
#include "runtime/torch/training/evaluate.h"

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

WeightHistogram weight_histogram(const Plan& plan, int stage_id, const std::string& entry_dir, double lo, double hi,
                                 int bins) {
  const Net net = load_stage_model(plan, stage_id, entry_dir);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (const auto& l : net.layers()) parts.push_back(Net::effective_weight(l).detach().to(torch::kFloat).flatten());
  WeightHistogram h;
  if (parts.empty() || bins < 1) return h;
  const torch::Tensor all = torch::cat(parts);
  const torch::Tensor nz = all.masked_select(all.ne(0));
  h.total = all.numel();
  h.zeros = h.total - nz.numel();
  if (lo >= hi) {  // symmetric, over all but the largest 0.5% of magnitudes (which would squeeze the rest)
    double m = 1.0;
    if (nz.numel()) {
      const torch::Tensor a = nz.abs();
      const std::int64_t k =
          std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(0.995 * static_cast<double>(a.numel()))));
      m = std::get<0>(torch::kthvalue(a, k)).item<double>() * 1.05;
    }
    lo = -m, hi = m;
  }
  h.lo = lo, h.hi = hi;
  h.counts.assign(static_cast<std::size_t>(bins), 0);
  if (nz.numel() == 0) return h;
  const torch::Tensor in = nz.masked_select(nz.ge(lo).logical_and(nz.le(hi)));
  h.outside = nz.numel() - in.numel();
  const torch::Tensor idx =
      ((in.to(torch::kDouble) - lo) / (hi - lo) * bins).floor().clamp(0, bins - 1).to(torch::kLong);
  const torch::Tensor c = torch::bincount(idx, {}, bins);
  for (int i = 0; i < bins; ++i) h.counts[static_cast<std::size_t>(i)] = c[i].item<std::int64_t>();
  h.distinct =
      static_cast<int>(std::get<0>(at::_unique(nz.slice(0, 0, std::min<std::int64_t>(nz.numel(), 1 << 22)))).numel());
  if (h.distinct > 257) h.distinct = 257;
  return h;
}

std::map<std::string, double> recompute_claims(const Plan& plan, int stage_id, const std::string& entry_dir,
                                               int evaluate_stage) {
  Net net = load_stage_model(plan, stage_id, entry_dir);
  // As the claimed evaluation deploys it: its test-time views counted in the score and averaged.
  const std::string tta = evaluate_stage >= 0 ? Params(plan.stage(evaluate_stage)).word("tta") : "none";
  std::map<std::string, double> out = size_and_cost(net, tta_views(tta));
  if (evaluate_stage >= 0) {
    // Exactly the data the claimed evaluation read: its own `data` line (a recipe may smoke-test on
    // a slice and measure the final model on the whole test set with a second one).
    const lang::StageInstance& data = plan.stage(plan.stage(evaluate_stage).data_in);
    std::string error;
    auto files = locate_data(data, error, plan.data_dir, plan.data_roots);
    if (!files) throw StageError(error);
    const Dataset d = load_dataset(data, *files);
    const Scores s = score_predictions(predict_tta(*net.module, d.test_x, 256, torch::kCPU, tta), d.test_y, d.classes);
    out["accuracy"] = s.accuracy;
    out["test_images"] = static_cast<double>(d.test_x.size(0));
  }
  return out;
}

std::map<std::string, double> recompute_export(const Plan& plan, int export_stage, const std::string& model_entry_dir,
                                               const std::string& bytes) {
  const lang::StageInstance& e = plan.stage(export_stage);
  Net net = load_stage_model(plan, e.model_in, model_entry_dir);
  const lang::StageInstance& data = plan.stage(plan.chain_model(e.model_in).data_in);
  std::string error;
  auto files = locate_data(data, error, plan.data_dir, plan.data_roots);
  if (!files) throw StageError(error);
  const Dataset d = load_dataset(data, *files);
  const bool normalize = Params(e).flag("normalize");
  // The submitted file is never run: whittle writes the export again from the verified model and
  // the recipe, and the submitted bytes must be exactly those. Its parity is then measured on
  // whittle's own bytes (the same bytes: the same computation).
  const bool onnx = export_format(e) == ExportFormat::Onnx;
  const std::string ours = onnx ? onnx_bytes(net, d, normalize) : torchscript_bytes(net, d, normalize);
  if (ours != bytes)
    throw StageError(fmt::format(
        "the file is not the {} export whittle writes from the submitted model ({} bytes where whittle writes {}{}); "
        "it was not run",
        onnx ? "ONNX" : "TorchScript", bytes.size(), ours.size(),
        bytes.size() == ours.size() ? ", some of them other" : ""));
  const ExportParity p = onnx ? onnx_parity(ours, net, d, normalize) : torchscript_parity(ours, net, d, normalize);
  return {{"export_accuracy", p.accuracy},
          {"export_agreement", p.agreement},
          {"export_max_logit_diff", p.max_logit_diff},
          {"export_images", static_cast<double>(d.test_x.size(0))}};
}

}  // namespace whittle::runtime::torchrt
