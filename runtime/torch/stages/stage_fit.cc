// The stages that train: `train` and `retrain` (fine-tuning, learning-rate and weight rewinding,
// distillation), resumable after a kill at any epoch (checkpoint.h).
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <optional>

#include "runtime/system/atomic_file.h"
#include "runtime/torch/compression/model_file.h"
#include "runtime/torch/compression/sparsify.h"
#include "runtime/torch/stages/stage_context.h"
#include "runtime/torch/training/checkpoint.h"
#include "runtime/torch/training/evaluate.h"
#include "runtime/torch/training/fit.h"

namespace whittle::runtime::torchrt {
namespace fs = std::filesystem;
namespace {

std::string snapshot_name(int epoch) { return fmt::format("snapshot-{}{}", epoch, kModelExtension); }

/// A hard link where the file system allows one (no second copy of a checkpoint), else a copy.
void copy_into_entry(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_hard_link(from, to, ec);
  if (ec) fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

/// Distillation: the teacher, frozen in eval mode; L = (1 − α)·CE + α·T²·KL(teacher/T ‖ student/T).
std::optional<Net> load_teacher(StageContext& ctx, const lang::StageInstance& s, Trainer& trainer) {
  const lang::Val& kd = Params(s).value("distill");
  if (kd.kind != lang::Val::Kind::Call) return std::nullopt;
  const Params p(kd);
  std::optional<Net> teacher = ctx.chain_net(p.value("teacher").ref);
  teacher->to(trainer.dev, trainer.channels_last);
  teacher->module->eval();
  for (auto& t : teacher->module->parameters()) t.set_requires_grad(false);
  trainer.kd_t = p.number("temperature");
  trainer.kd_alpha = p.number("alpha");
  return teacher;
}

/// Weight rewinding: the input model with every tensor it shares with the train's weights at
/// epoch K reset to them (pruned weights stay zero: the masks are the input's). The train keeps a
/// snapshot every `snapshot_every` epochs; epoch K, when it has none, is replayed from the nearest
/// snapshot before it (or from the train's start) with the train's own seeds and settings.
Net rewound_net(StageContext& ctx, int k, torch::Device dev) {
  const lang::StageInstance& tr = ctx.plan.stage(ctx.stage.train);
  const int T = static_cast<int>(Params(tr).count("epochs"));
  if (k >= T)
    throw StageError(fmt::format("`rewind: weights(epoch: {})`, but train #{} runs {} epochs", k, tr.id, T),
                     fmt::format("rewind to an epoch before the end of the train: 0 to {}", T - 1));
  const fs::path train_entry = ctx.job.entries.at(tr.id);
  int from = k;  // the latest snapshot at or before K (the entry may come from another cadence)
  while (from > 0 && !fs::exists(train_entry / snapshot_name(from))) --from;
  Trainer trainer(ctx.plan, tr, ctx.plan.keys.at(static_cast<std::size_t>(tr.id)), ctx.dataset(tr.data_in), dev,
                  ctx.job.progress);
  Net at_k = ctx.chain_net(tr.model_in);
  at_k.to(dev, trainer.channels_last);
  auto opt = make_optimizer(Params(tr).value("optimizer"), at_k, trainer.norm_bias_lr);
  trainer.average.start(at_k);
  if (from > 0) {
    load_net(at_k, (train_entry / snapshot_name(from)).string());
    at_k.to(dev, trainer.channels_last);
    load_optimizer_file(*opt, (train_entry / optim_file_of(snapshot_name(from))).string(), dev);
    if (trainer.average.active()) trainer.average.load((train_entry / average_file_of(snapshot_name(from))).string());
  }
  if (from < k) {
    ctx.message(
        fmt::format("weight rewinding: replaying epochs {} to {} of train #{} (its last snapshot before "
                    "epoch {} is {}; `snapshot_every` sets their cadence)",
                    from + 1, k, tr.id, k + 1, from == 0 ? "its start" : fmt::format("epoch {}", from)));
    std::optional<Net> teacher = load_teacher(ctx, tr, trainer);
    if (teacher) trainer.teacher = &*teacher;
    const auto t0 = std::chrono::steady_clock::now();
    for (int e = from; e < k; ++e) trainer.epoch(at_k, *opt, e, t0);
  }
  Net net = ctx.input_net();
  auto target = net.module->named_parameters(true);
  auto target_buffers = net.module->named_buffers(true);
  torch::NoGradGuard no_grad;
  auto reset = [&](const std::string& name, const torch::Tensor& value) {
    torch::Tensor* t = target.find(name);
    if (!t) t = target_buffers.find(name);
    if (!t) return;  // a tensor the train's model does not have (a quantizer's): kept
    if (t->sizes() != value.sizes())
      throw StageError(fmt::format("weight rewinding: `{}` is {} now and was {} at epoch {}: the model was slimmed "
                                   "physically after the train",
                                   name, c10::str(t->sizes()), c10::str(value.sizes()), k),
                       "rewind before `prune ... physical: true`, or prune with masks (leave `physical` out)");
    t->copy_(value.to(t->device(), t->dtype()));
  };
  for (const auto& p : at_k.module->named_parameters(true)) reset(p.key(), p.value());
  for (const auto& b : at_k.module->named_buffers(true)) reset(b.key(), b.value());
  net.apply_masks();
  return net;
}

void run_fit(StageContext& ctx) {
  const lang::StageInstance& s = ctx.stage;
  Dataset& d = ctx.data();
  const torch::Device dev = ctx.device();
  Trainer trainer(ctx.plan, s, ctx.job.key, d, dev, ctx.job.progress);
  if (trainer.amp && !dev.is_cuda())
    throw StageError("`precision: amp` (mixed precision) needs a CUDA device, and this stage runs on the CPU",
                     "remove `precision: amp`, or run on a machine with CUDA (docs/training.md, \"GPU build\")");
  const int rewind_to = weight_rewind_epoch(s);
  Net net = rewind_to >= 0 ? rewound_net(ctx, rewind_to, dev) : ctx.input_net();
  net.to(dev, trainer.channels_last);
  const int epochs = trainer.epochs;
  const lang::Val& opt_val = ctx.params.value("optimizer");
  if (opt_val.kind != lang::Val::Kind::Call)
    throw StageError("no optimizer: give `optimizer:` or put a `train` before it");
  auto opt = make_optimizer(opt_val, net, trainer.norm_bias_lr);
  trainer.average.start(net);
  std::optional<Net> teacher = load_teacher(ctx, s, trainer);
  if (teacher) trainer.teacher = &*teacher;
  const int eval_every = static_cast<int>(ctx.params.count("eval_every"));
  // Weight snapshots for a later `rewind: weights(epoch: K)`: every `snapshot_every` epochs.
  const int snapshot_every = s.kind == "train" ? static_cast<int>(ctx.params.count("snapshot_every")) : 0;
  const bool has_val = d.val_x.defined();
  EpochCheckpoints checkpoints(ctx.job.partial_dir, epochs);
  std::string damaged;
  EpochState st = checkpoints.resume(damaged);
  if (!damaged.empty()) ctx.message(fmt::format("#{} {}: {}", s.id, s.kind, damaged));
  if (st.epoch > 0) {  // resume after an interruption
    load_net(net, checkpoints.path(st.model_file()));
    net.to(dev, trainer.channels_last);
    load_optimizer_file(*opt, checkpoints.path(st.optim_file()), dev);
    if (trainer.average.active()) trainer.average.load(checkpoints.path(average_file_of(st.model_file())));
    ctx.message(fmt::format("resuming #{} {} after epoch {} of {}", s.id, s.kind, st.epoch, epochs));
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (int epoch = st.epoch; epoch < epochs; ++epoch) {
    trainer.epoch(net, *opt, epoch, t0);
    // Evaluation every N epochs (and after the last), on the validation split when there is one.
    // It is reported, never used to pick a model: the stage keeps its last weights.
    std::string eval_part;
    if (eval_every > 0 && ((epoch + 1) % eval_every == 0 || epoch + 1 == epochs)) {
      auto [ex, ey] = eval_split(d, has_val ? "validation" : "test");
      const Scores sc = score_predictions(predict(*net.module, *ex, 512, dev, trainer.channels_last), *ey, d.classes);
      eval_part = fmt::format(", {} loss {:.6f}, {} accuracy {:.4f}", has_val ? "validation" : "test", sc.loss,
                              has_val ? "validation" : "test", sc.accuracy);
      st.history +=
          fmt::format("{},{},{:.6f},{:.6f}\n", epoch + 1, has_val ? "validation" : "test", sc.loss, sc.accuracy);
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    st.log += fmt::format("epoch {}/{}: loss {:.6f}, accuracy {:.4f}, lr {:.6g}{}, {:.1f}s (training {:.3f}s)\n",
                          epoch + 1, epochs, trainer.last_loss, trainer.last_accuracy,
                          trainer.lr_at(epoch + 1.0 - 1e-9), eval_part, elapsed, trainer.last_seconds);
    st.loss = trainer.last_loss;
    st.accuracy = trainer.last_accuracy;
    st.epoch = epoch + 1;
    const bool snapshot = snapshot_every > 0 && (epoch + 1) % snapshot_every == 0 && epoch + 1 < epochs;
    // One atomic step: a kill loses at most the epoch in progress (checkpoint.h).
    checkpoints.commit(st, net, *opt, snapshot ? snapshot_name(epoch + 1) : "",
                       trainer.average.active() ? trainer.average.bytes() : "");
  }
  trainer.average.finish(net);  // the stage's model is the average (lookahead: the slow weights)
  ctx.save_model(net);
  // Copies, not moves: a kill before the entry is committed must find them here again.
  for (const auto& [f, sum] : st.files)
    if (f.rfind("snapshot-", 0) == 0) copy_into_entry(checkpoints.path(f), ctx.out(f));
  if (!st.history.empty()) ctx.write("evaluations.csv", "epoch,split,loss,accuracy\n" + st.history);
  write_file_atomic(ctx.partial("log.txt").string(), st.log);
  if (!std::isnan(st.loss)) {
    ctx.job.metrics["train_loss"] = st.loss;
    ctx.job.metrics["train_accuracy"] = st.accuracy;
  }
  if (rewind_to >= 0) ctx.job.metrics["rewound_to_epoch"] = rewind_to;
  ctx.model_metrics(net);
}

/// The preview of a train: trained weights are not exactly zero where they start at zero (BatchNorm
/// shifts, biases), and a `sparsify:` leaves its final sparsity.
void preview_train(const lang::StageInstance& s, Net& net, StagePreview&) {
  {
    torch::NoGradGuard no_grad;
    // A weight that starts as an identity (`init: dirac`: mostly zeros and a few ones) is dense after
    // training, its values of the init's scale: drawn so, quantizers see a trained layer's spread,
    // not a spike that rounds everything else to zero. Other zeros become small values.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(0x5eed);
    for (auto& p : net.module->parameters()) {
      if (p.dim() >= 2 && p.eq(0).sum().item<double>() > 0.5 * static_cast<double>(p.numel())) {
        const double fan_in = static_cast<double>(p.numel() / p.size(0));
        p.copy_(at::normal(0.0, std::sqrt(2.0 / fan_in), p.sizes(), gen).to(p.dtype()));
      }
      p.masked_fill_(p.eq(0), 1e-3);
    }
    net.masks_changed();
    net.apply_masks();
  }
  Sparsify(s, static_cast<int>(Params(s).count("epochs"))).final_step(net);
}

}  // namespace

extern const StageKind kTrain{"train", run_fit, preview_train};
extern const StageKind kRetrain{"retrain", run_fit};

}  // namespace whittle::runtime::torchrt
