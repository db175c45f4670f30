// The stages that measure or deliver a model and leave it as it is: `evaluate` (accuracy, loss,
// per-class figures, latency), `score` (the course score, every component) and `export`.
#include <fmt/format.h>

#include "runtime/plan/export_format.h"
#include "runtime/plan/metrics.h"
#include "runtime/system/atomic_file.h"
#include "runtime/torch/compression/score.h"
#include "runtime/torch/export/export.h"
#include "runtime/torch/stages/stage_context.h"
#include "runtime/torch/training/evaluate.h"

namespace whittle::runtime::torchrt {
namespace {

void run_evaluate(StageContext& ctx) {
  Dataset& d = ctx.data();
  Net net = ctx.input_net();
  torch::Device dev = ctx.device();
  if (!net.int8.empty()) {  // int8 kernels run on the CPU
    if (ctx.params.given("device") && dev.is_cuda())
      throw StageError("this model runs LibTorch's int8 CPU kernels (`convert`), and `device: cuda` asks for the GPU",
                       "evaluate it on the CPU: leave `device` out");
    dev = torch::kCPU;
    ctx.job.device = "cpu";
  }
  net.to(dev, false);
  const std::int64_t batch = ctx.params.count("batch");
  auto [split_x, split_y] = eval_split(d, ctx.params.word("split"));
  // Its own slice (`test_subset:`), the same images the data's own picks with its seed.
  const auto [x, y] = seeded_slice(*split_x, *split_y, ctx.params.count("test_subset"),
                                   static_cast<std::uint64_t>(ctx.plan.stage(ctx.stage.data_in).seed));
  // What it measured on: its split (a parameter), its slice and the whole split's size.
  ctx.job.metrics["images"] = static_cast<double>(x.size(0));
  ctx.job.metrics["split_images"] =
      static_cast<double>(ctx.params.word("split") == "validation" ? split_x->size(0) : d.test_images());
  const std::string tta = ctx.params.word("tta");
  const Scores sc = score_predictions(predict_tta(*net.module, x, batch, dev, tta), y, d.classes);
  for (const auto& m : ctx.params.value("metrics").items) {
    if (m.str == "accuracy") ctx.job.metrics["accuracy"] = sc.accuracy;
    if (m.str == "loss") ctx.job.metrics["loss"] = sc.loss;
    if (m.str == "precision") ctx.job.metrics["precision"] = sc.precision;
    if (m.str == "recall") ctx.job.metrics["recall"] = sc.recall;
    if (m.str == "f1") ctx.job.metrics["f1"] = sc.f1;
    if (m.str == "confusion") ctx.write("confusion.csv", confusion_csv(sc));
    if (m.str == "precision" || m.str == "recall" || m.str == "f1") ctx.write("per_class.csv", per_class_csv(sc));
  }
  if (const std::string where = ctx.params.word("latency"); where != "none") {
    if (where == "cuda" && !torch::cuda::is_available())
      throw StageError("`latency: cuda`, but this LibTorch build or machine has no CUDA device", "use `latency: cpu`");
    if (where == "cuda" && !net.int8.empty())
      throw StageError("`latency: cuda`, but this model runs LibTorch's int8 CPU kernels (`convert`)",
                       "use `latency: cpu`");
    const torch::Device ldev = where == "cuda" ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    net.to(ldev, false);
    // Timed at its own batch size: batch 1 for a per-image latency without an accuracy pass at batch 1.
    const std::int64_t timed =
        std::min(ctx.params.count("latency_batch") > 0 ? ctx.params.count("latency_batch") : batch, x.size(0));
    const Latency l = measure_latency(*net.module, x.slice(0, 0, timed), ldev);
    ctx.job.metrics["latency_ms"] = l.median_ms;
    ctx.job.metrics["latency_p90_ms"] = l.p90_ms;
    ctx.job.metrics["images_per_s"] = l.images_per_s;
    ctx.job.metrics["latency_batch"] = static_cast<double>(timed);
  }
  // The model as this evaluation deploys it: every test-time view's operations in its score.
  ctx.model_metrics(net, tta_views(tta));
}

/// `score`: the course score of the model at this point, every component (score.h).
void run_score(StageContext& ctx) {
  Net net = ctx.input_net();
  const bool profiler = ctx.params.word("convention") == "profiler";
  const ScoreReport r = score(net, {ctx.params.word("version"), ctx.params.word("count") == "all", profiler});
  ctx.write("score.txt", r.text());
  auto& m = ctx.job.metrics;
  // Its own figure, and the preset's figure where it counts as the preset does: the run table's
  // score column (runtime/plan/plan.h) shows that one.
  m["preset_score"] = r.total;
  if (ctx.params.word("count") == "all" && !profiler) m[score_key(r.version)] = r.total;
  m["score_w"] = r.w;
  m["score_f"] = r.f;
  m["score_q_w"] = r.q_w;
  m["score_q_a"] = r.q_a;
  m["score_p_s"] = r.p_s;
  m["score_p_u"] = r.p_u;
  m["score_param_term"] = r.param_term;
  m["score_ops_term"] = r.ops_term;
}

/// `export` (export.h); the command line copies the file from the cache entry to its path.
void run_export(StageContext& ctx) {
  Net net = ctx.input_net();
  const lang::StageInstance& m = ctx.plan.chain_model(ctx.stage.id);
  const Dataset& data = ctx.dataset(m.data_in);
  const std::string file = export_entry_file(ctx.stage);
  switch (export_format(ctx.stage)) {
    case ExportFormat::StateDict: {
      const std::vector<char> bytes = export_bytes(net, m, data);
      write_file_atomic(ctx.out(file).string(), std::string_view(bytes.data(), bytes.size()));
      ctx.job.metrics["export_bytes"] = static_cast<double>(bytes.size());
      return;
    }
    case ExportFormat::Safetensors: {
      const std::string bytes = safetensors_export_bytes(net, m, data);
      write_file_atomic(ctx.out(file).string(), bytes);
      ctx.job.metrics["export_bytes"] = static_cast<double>(bytes.size());
      return;
    }
    case ExportFormat::TorchScript:
    case ExportFormat::Onnx: {
      const bool onnx = export_format(ctx.stage) == ExportFormat::Onnx;
      const bool normalize = ctx.params.flag("normalize");
      const std::string bytes = onnx ? onnx_bytes(net, data, normalize) : torchscript_bytes(net, data, normalize);
      // Read back by another runtime (OpenCV's DNN for ONNX, LibTorch's JIT for TorchScript) and
      // evaluated on the test set before it is kept.
      const ExportParity p =
          onnx ? onnx_parity(bytes, net, data, normalize) : torchscript_parity(bytes, net, data, normalize);
      ctx.job.metrics["export_bytes"] = static_cast<double>(bytes.size());
      ctx.job.metrics["export_accuracy"] = p.accuracy;
      ctx.job.metrics["images"] =
          static_cast<double>(data.test_x.size(0));  // the parity's images: the test split as `data` keeps it
      ctx.job.metrics["split_images"] = static_cast<double>(data.test_images());
      ctx.job.metrics["export_max_logit_diff"] = p.max_logit_diff;
      ctx.job.metrics["export_agreement"] = p.agreement;
      const double tolerance = ctx.params.number("tolerance");
      if (p.max_logit_diff > tolerance) {
        const std::string where = onnx ? onnx_divergence(net, data, normalize, bytes, tolerance) : "";
        throw StageError(
            fmt::format("the {} file computes other logits than the model: they differ by up to {:.3g} "
                        "(tolerance {:.3g}); {:.2f}% of the test predictions agree, its accuracy is {:.2f}%{}",
                        onnx ? "ONNX" : "TorchScript", p.max_logit_diff, tolerance, 100 * p.agreement, 100 * p.accuracy,
                        where.empty() ? "" : "; " + where),
            "raise `tolerance:` if this difference is acceptable");
      }
      write_file_atomic(ctx.out(file).string(), bytes);
      return;
    }
  }
}

}  // namespace

extern const StageKind kEvaluate{"evaluate", run_evaluate, nullptr, /*accepts_int8=*/true};
extern const StageKind kScore{"score", run_score, nullptr, /*accepts_int8=*/true};
extern const StageKind kExport{"export", run_export, nullptr, /*accepts_int8=*/true};

}  // namespace whittle::runtime::torchrt
