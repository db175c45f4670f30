// The stages that quantize: `quantize` (fake quantization, k-means sharing, APoT, half precision,
// BinaryConnect; activations calibrated on training batches) and `convert` (LibTorch's int8 kernels).
#include <fmt/format.h>

#include "runtime/torch/compression/int8.h"
#include "runtime/torch/compression/quant.h"
#include "runtime/torch/stages/stage_context.h"
#include "runtime/torch/training/evaluate.h"

namespace whittle::runtime::torchrt {
namespace {

/// `quantize`: puts a quantizer on every chosen conv/linear layer (quant.h) and calibrates the
/// activation ranges on seeded batches of 128 training images when activations are quantized.
void run_quantize(StageContext& ctx) {
  const QuantSpec q = quant_spec(ctx.stage);
  Net net = ctx.input_net();
  const int count = quantize_net(net, ctx.stage);
  const int batches = static_cast<int>(ctx.params.count("calibrate"));
  if (q.abits < 32 && q.method != "float" && batches > 0) {
    const auto calibration = ctx.seeded_batches(batches, 128);
    net.module->eval();
    torch::NoGradGuard no_grad;
    Calibrating::Scope calibrating;
    for (const auto& batch : calibration) net.module->forward(batch);
  }
  ctx.save_model(net);
  ctx.job.metrics["quantized_layers"] = count;
  ctx.model_metrics(net);
}

/// `convert`: realised int8 inference on the CPU (int8.h), calibrated on seeded training batches.
void run_convert(StageContext& ctx) {
  Net net = ctx.input_net();
  const std::string engine = ctx.params.word("engine");
  if (net.half)
    throw StageError("`convert` turns a float32 model into int8 kernels, and this one is half precision",
                     "drop `quantize 16 bits float` before `convert`");
  if (!int8_engine_available(engine))
    throw StageError(fmt::format("this LibTorch build has no {} quantized engine", engine),
                     "use `engine: onednn` (x86) or `engine: qnnpack` (ARM)");
  net.to(torch::kCPU, false);
  // What the int8 kernels cost: the model's accuracy on the test split before and after.
  const Dataset& d = ctx.data();
  auto accuracy = [&] {
    return score_predictions(predict(*net.module, d.test_x, 256, torch::kCPU), d.test_y, d.classes).accuracy;
  };
  const double before = accuracy();
  ctx.job.metrics["int8_convs"] = convert_int8(net, engine, ctx.seeded_batches(8, 64));
  ctx.job.metrics["float_accuracy"] = before;
  ctx.job.metrics["int8_accuracy"] = accuracy();
  ctx.job.metrics["images"] = static_cast<double>(d.test_x.size(0));
  ctx.job.metrics["split_images"] = static_cast<double>(d.test_images());
  ctx.save_model(net);
  ctx.model_metrics(net);
}

/// The preview of a quantize: its quantizers, without Lloyd's iterations (the figures depend on the
/// zeros and the bit widths, not on where k-means centroids settle).
void preview_quantize(const lang::StageInstance& s, Net& net, StagePreview&) {
  quantize_net(net, s, /*kmeans_iterations=*/0);
}

}  // namespace

extern const StageKind kQuantize{"quantize", run_quantize, preview_quantize};
extern const StageKind kConvert{"convert", run_convert};

}  // namespace whittle::runtime::torchrt
