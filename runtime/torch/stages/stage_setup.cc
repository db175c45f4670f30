// The stages that set a chain up: `data` (loads and checks the data set) and `model` (a freshly
// initialised architecture, shaped for the data).
#include <fmt/format.h>

#include "lang/network.h"
#include "runtime/torch/stages/stage_context.h"
#include "runtime/torch/training/fit.h"
#include "runtime/torch/training/whitening.h"

namespace whittle::runtime::torchrt {
namespace {

void run_data(StageContext& ctx) {
  Dataset& d = ctx.dataset(ctx.stage.id);
  ctx.job.metrics["train_images"] = static_cast<double>(d.train_x.size(0));
  ctx.job.metrics["classes"] = d.classes;
}

void run_model(StageContext& ctx) {
  Dataset& d = ctx.data();
  if (!ctx.stage.network && ctx.params.given("classes") && ctx.params.count("classes") != d.classes)
    throw StageError(
        fmt::format("`classes: {}`, but the data set has {} classes", ctx.params.count("classes"), d.classes),
        "leave `classes` out: the output layer follows the data set");
  Net net = build_model(ctx.stage, shape_of(d), seed_of(ctx.job.key));
  // A `whiten` layer's filters come from the training images (the data's key is this stage's input).
  init_whitening(net, d);
  ctx.save_model(net);
  ctx.model_metrics(net);
}

}  // namespace

extern const StageKind kData{"data", run_data};
extern const StageKind kModel{"model", run_model};

}  // namespace whittle::runtime::torchrt
