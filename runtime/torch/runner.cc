// The LibTorch runner: data, model, train, retrain, prune and evaluate.
#include "runtime/torch/runner.h"

#include <fmt/format.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "runtime/data_files.h"
#include "runtime/atomic_file.h"
#include "runtime/torch/augment.h"
#include "runtime/torch/checkpoint.h"
#include "runtime/torch/data.h"
#include "runtime/torch/evaluate.h"
#include "runtime/torch/export.h"
#include "runtime/torch/fit.h"
#include "runtime/torch/int8.h"
#include "runtime/torch/layers.h"
#include "runtime/torch/models.h"
#include "runtime/torch/prune.h"
#include "runtime/torch/quant.h"
#include "runtime/torch/score.h"
#include "runtime/torch/sensitivity.h"

namespace whittle::runtime {
namespace fs = std::filesystem;
using namespace torchrt;

std::string libtorch_version() { return fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH); }

namespace {

double num(const lang::StageInstance& s, const char* name) { return s.value(name)->num; }

/// A text file of a cache entry, every write checked (a full disk is an error, never a short file).
void write_text(const fs::path& path, const std::string& text) { write_file_atomic(path.string(), text); }

class TorchRunner : public StageRunner {
 public:
  explicit TorchRunner(int threads) {
    if (threads > 0) at::set_num_threads(threads);
  }

  void run(StageJob& job) override {
    const std::string& k = job.stage.kind;
    if (k == "data") run_data(job);
    else if (k == "model") run_model(job);
    else if (k == "train" || k == "retrain") run_fit(job);
    else if (k == "prune") run_prune(job);
    else if (k == "sensitivity") run_sensitivity(job);
    else if (k == "evaluate") run_evaluate(job);
    else if (k == "quantize") run_quantize(job);
    else if (k == "convert") run_convert(job);
    else if (k == "score") run_score(job);
    else if (k == "export") run_export(job);
    else throw StageError(fmt::format("`{}` cannot run yet in this build", k));
    // The stage's log goes into its cache entry: the epochs (kept in the partial folder so that a
    // resumed stage keeps the lines of the epochs before the interruption), then its metrics.
    const fs::path partial_log = fs::path(job.partial_dir) / "log.txt";
    std::string log;
    if (fs::exists(partial_log)) {
      std::ifstream in(partial_log);
      log.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::string out = fmt::format("#{} {} ({})\n", job.stage.id, job.stage.kind, job.key) + log;
    for (const auto& [name, value] : job.metrics) out += fmt::format("{} = {}\n", name, value);
    write_text(fs::path(job.out_dir) / "log.txt", out);
  }

 private:
  Dataset& dataset(const Plan& p, int data_id) {
    auto it = data_.find(data_id);
    if (it != data_.end()) return it->second;
    const lang::StageInstance& s = p.stage(data_id);
    std::string error;
    auto files = locate_data(s, error, p.data_dir);
    if (!files) throw StageError(error);
    return data_.emplace(data_id, load_dataset(s, *files)).first->second;
  }

  Shape shape_of(const Dataset& d) {
    return {d.train_x.size(1), d.train_x.size(2), d.train_x.size(3), d.classes};
  }

  /// The model a stage produced: its chain's architecture with that stage's weights and masks.
  Net load_chain_net(StageJob& job, int stage_id) { return load_stage_model(job.plan, stage_id, job.entries.at(stage_id)); }
  /// The model a stage starts from. A model converted to int8 kernels is for inference only.
  Net input_net(StageJob& job) {
    Net net = load_chain_net(job, job.stage.model_in);
    const std::string& k = job.stage.kind;
    if (!net.int8.empty() && k != "evaluate" && k != "score" && k != "export")
      throw StageError(fmt::format("`{}` needs a float model, and this one was converted to int8 kernels by `convert` (inference only)", k),
                       "put `convert` after every train, prune and quantize of the chain; evaluate, score and export may follow it");
    return net;
  }

  void model_metrics(StageJob& job, const Net& net) {
    for (const auto& [k, v] : size_and_cost(net)) job.metrics[k] = v;
  }

  void run_data(StageJob& job) {
    Dataset& d = dataset(job.plan, job.stage.id);
    job.metrics["train_images"] = static_cast<double>(d.train_x.size(0));
    job.metrics["test_images"] = static_cast<double>(d.test_x.size(0));
    job.metrics["classes"] = d.classes;
  }

  void run_model(StageJob& job) {
    Dataset& d = dataset(job.plan, job.stage.data_in);
    if (job.stage.param("classes")->origin == lang::Origin::Given && static_cast<int>(job.stage.value("classes")->num) != d.classes)
      throw StageError(fmt::format("`classes: {}`, but the data set has {} classes", job.stage.value("classes")->num, d.classes),
                       "leave `classes` out: the output layer follows the data set");
    Net net = build_model(job.stage, shape_of(d), seed_of(job.key));
    save_net(net, (fs::path(job.out_dir) / "model.pt").string());
    model_metrics(job, net);
  }

  /// The device a stage asks for: `auto` is CUDA when this build and machine have it.
  static torch::Device pick_device(const lang::StageInstance& s) {
    const std::string want = s.value("device") ? s.value("device")->str : "auto";
    const bool cuda = torch::cuda::is_available();
    if (want == "cuda" && !cuda)
      throw StageError("`device: cuda`, but this LibTorch build or machine has no CUDA device",
                       "Debian's LibTorch is CPU-only: build whittle against a CUDA LibTorch (README, \"GPU build\"), or use `device: auto`");
    return want != "cpu" && cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  }

  /// The data a stage evaluates on: the test set, or the validation split held out by `data`.
  static std::pair<const torch::Tensor*, const torch::Tensor*> eval_split(const Dataset& d, const std::string& split) {
    if (split != "validation") return {&d.test_x, &d.test_y};
    if (!d.val_x.defined())
      throw StageError("there is no validation split to evaluate on", "hold one out of the training set in the `data` stage: `validation: 10%`");
    return {&d.val_x, &d.val_y};
  }

  void run_fit(StageJob& job) {
    const lang::StageInstance& s = job.stage;
    Dataset& d = dataset(job.plan, s.data_in);
    const torch::Device dev = pick_device(s);
    Trainer trainer(job.plan, s, job.key, d, dev, job.progress);
    if (trainer.amp && !dev.is_cuda())
      throw StageError("`precision: amp` (mixed precision) needs a CUDA device, and this stage runs on the CPU",
                       "remove `precision: amp`, or run on a machine with CUDA (README, \"GPU build\")");
    const int rewind_to = weight_rewind_epoch(s);
    Net net = rewind_to >= 0 ? rewound_net(job, rewind_to, dev) : input_net(job);
    net.to(dev, trainer.channels_last);
    const int epochs = trainer.epochs;
    const lang::Val& opt_val = *s.value("optimizer");
    if (opt_val.kind != lang::Val::Kind::Call) throw StageError("no optimizer: give `optimizer:` or put a `train` before it");
    auto opt = make_optimizer(opt_val, net);
    std::optional<Net> teacher = load_teacher(job, s, trainer);
    if (teacher) trainer.teacher = &*teacher;
    const int eval_every = static_cast<int>(num(s, "eval_every"));
    // Weight snapshots for a later `rewind: weights(epoch: K)`: every `snapshot_every` epochs.
    const int snapshot_every = s.kind == "train" ? static_cast<int>(num(s, "snapshot_every")) : 0;
    const bool has_val = d.val_x.defined();
    const fs::path partial(job.partial_dir);
    EpochCheckpoints checkpoints(job.partial_dir, epochs);
    std::string damaged;
    EpochState st = checkpoints.resume(damaged);
    if (!damaged.empty()) job.progress.message(fmt::format("#{} {}: {}", s.id, s.kind, damaged));
    if (st.epoch > 0) {  // resume after an interruption
      load_net(net, checkpoints.path(st.model_file()));
      net.to(dev, trainer.channels_last);
      load_optimizer_file(*opt, checkpoints.path(st.optim_file()), dev);
      job.progress.message(fmt::format("resuming #{} {} after epoch {} of {}", s.id, s.kind, st.epoch, epochs));
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
        st.history += fmt::format("{},{},{:.6f},{:.6f}\n", epoch + 1, has_val ? "validation" : "test", sc.loss, sc.accuracy);
      }
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      st.log += fmt::format("epoch {}/{}: loss {:.6f}, accuracy {:.4f}, lr {:.6g}{}, {:.1f}s\n", epoch + 1, epochs, trainer.last_loss,
                            trainer.last_accuracy, trainer.lr_at(epoch + 1.0 - 1e-9), eval_part, elapsed);
      st.loss = trainer.last_loss;
      st.accuracy = trainer.last_accuracy;
      st.epoch = epoch + 1;
      // Weight snapshots for a later `rewind: weights(epoch: K)`: every `snapshot_every` epochs.
      const bool snapshot = snapshot_every > 0 && (epoch + 1) % snapshot_every == 0 && epoch + 1 < epochs;
      // One atomic step: a kill loses at most the epoch in progress (checkpoint.h).
      checkpoints.commit(st, net, *opt, snapshot ? snapshot_name(epoch + 1) : "");
    }
    save_net(net, (fs::path(job.out_dir) / "model.pt").string());
    // Copies, not moves: a kill before the entry is committed must find them here again.
    for (const auto& [f, sum] : st.files)
      if (f.rfind("snapshot-", 0) == 0) copy_into_entry(checkpoints.path(f), fs::path(job.out_dir) / f);
    if (!st.history.empty()) write_text(fs::path(job.out_dir) / "evaluations.csv", "epoch,split,loss,accuracy\n" + st.history);
    write_text(partial / "log.txt", st.log);
    if (!std::isnan(st.loss)) {
      job.metrics["train_loss"] = st.loss;
      job.metrics["train_accuracy"] = st.accuracy;
    }
    if (rewind_to >= 0) job.metrics["rewound_to_epoch"] = rewind_to;
    model_metrics(job, net);
  }

  static std::string snapshot_name(int epoch) { return fmt::format("snapshot-{}.pt", epoch); }
  static std::string optim_name(const std::string& model_file) { return model_file.substr(0, model_file.size() - 3) + ".optim.pt"; }

  /// A hard link where the file system allows one (no second copy of a checkpoint), else a copy.
  static void copy_into_entry(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    fs::create_hard_link(from, to, ec);
    if (ec) fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  }

  /// Distillation: the teacher, frozen in eval mode; L = (1 − α)·CE + α·T²·KL(teacher/T ‖ student/T).
  std::optional<Net> load_teacher(StageJob& job, const lang::StageInstance& s, Trainer& trainer) {
    const lang::Val* kd = s.value("distill");
    if (!kd || kd->kind != lang::Val::Kind::Call) return std::nullopt;
    std::optional<Net> teacher = load_chain_net(job, kd->field("teacher")->ref);
    teacher->to(trainer.dev, trainer.channels_last);
    teacher->module->eval();
    for (auto& p : teacher->module->parameters()) p.set_requires_grad(false);
    trainer.kd_t = kd->field("temperature")->num;
    trainer.kd_alpha = kd->field("alpha")->num;
    return teacher;
  }

  /// Weight rewinding: the input model with every tensor it shares with the train's weights at
  /// epoch K reset to them (pruned weights stay zero: the masks are the input's). The train keeps a
  /// snapshot every `snapshot_every` epochs; epoch K, when it has none, is replayed from the nearest
  /// snapshot before it (or from the train's start) with the train's own seeds and settings.
  Net rewound_net(StageJob& job, int k, torch::Device dev) {
    const lang::StageInstance& s = job.stage;
    const lang::StageInstance& tr = job.plan.stage(s.train);
    const int T = static_cast<int>(num(tr, "epochs"));
    if (k >= T)
      throw StageError(fmt::format("`rewind: weights(epoch: {})`, but train #{} runs {} epochs", k, tr.id, T),
                       fmt::format("rewind to an epoch before the end of the train: 0 to {}", T - 1));
    const fs::path train_entry = job.entries.at(tr.id);
    int from = k;  // the latest snapshot at or before K (the entry may come from another cadence)
    while (from > 0 && !fs::exists(train_entry / snapshot_name(from))) --from;
    Trainer trainer(job.plan, tr, job.plan.keys.at(static_cast<std::size_t>(tr.id)), dataset(job.plan, tr.data_in), dev,
                    job.progress);
    Net at_k = load_chain_net(job, tr.model_in);
    at_k.to(dev, trainer.channels_last);
    auto opt = make_optimizer(*tr.value("optimizer"), at_k);
    if (from > 0) {
      load_net(at_k, (train_entry / snapshot_name(from)).string());
      at_k.to(dev, trainer.channels_last);
      load_optimizer_file(*opt, (train_entry / optim_name(snapshot_name(from))).string(), dev);
    }
    if (from < k) {
      job.progress.message(fmt::format("weight rewinding: replaying epochs {} to {} of train #{} (its last snapshot before "
                                       "epoch {} is {}; `snapshot_every` sets their cadence)", from + 1, k, tr.id, k + 1,
                                       from == 0 ? "its start" : fmt::format("epoch {}", from)));
      std::optional<Net> teacher = load_teacher(job, tr, trainer);
      if (teacher) trainer.teacher = &*teacher;
      const auto t0 = std::chrono::steady_clock::now();
      for (int e = from; e < k; ++e) trainer.epoch(at_k, *opt, e, t0);
    }
    Net net = input_net(job);
    auto target = net.module->named_parameters(true);
    auto target_buffers = net.module->named_buffers(true);
    torch::NoGradGuard no_grad;
    auto reset = [&](const std::string& name, const torch::Tensor& value) {
      torch::Tensor* t = target.find(name);
      if (!t) t = target_buffers.find(name);
      if (!t) return;  // a tensor the train's model does not have (a quantizer's): kept
      if (t->sizes() != value.sizes())
        throw StageError(fmt::format("weight rewinding: `{}` is {} now and was {} at epoch {}: the model was slimmed "
                                     "physically after the train", name, c10::str(t->sizes()), c10::str(value.sizes()), k),
                         "rewind before `prune ... physical: true`, or prune with masks (leave `physical` out)");
      t->copy_(value.to(t->device(), t->dtype()));
    };
    for (const auto& p : at_k.module->named_parameters(true)) reset(p.key(), p.value());
    for (const auto& b : at_k.module->named_buffers(true)) reset(b.key(), b.value());
    net.apply_masks();
    return net;
  }

  /// `count` seeded batches of `size` training images (ThiNet's samples, int8 calibration).
  std::vector<torch::Tensor> seeded_batches(StageJob& job, int count, std::int64_t size) {
    // A prune needs no data of its own: ThiNet samples the training set of its chain's model.
    const int data_id = job.stage.data_in >= 0 ? job.stage.data_in : job.plan.chain_model(job.stage.id).data_in;
    const Dataset& d = dataset(job.plan, data_id);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed_of(job.key));
    const auto perm = torch::randperm(d.train_x.size(0), gen);
    std::vector<torch::Tensor> batches;
    for (std::int64_t b = 0; b < count && b * size < perm.size(0); ++b)
      batches.push_back(d.train_x.index_select(0, perm.slice(0, b * size, std::min(perm.size(0), (b + 1) * size))));
    return batches;
  }

  void run_prune(StageJob& job) {
    const lang::StageInstance& s = job.stage;
    Net net = input_net(job);
    PruneSpec p = prune_spec(s);
    if (p.criterion == "thinet") p.batches = seeded_batches(job, 8, 64);
    if (const lang::Val* guide = s.value("guide"); guide->kind == lang::Val::Kind::Result) {
      std::ifstream in(fs::path(job.entries.at(guide->ref)) / "sensitivity.json");
      const Sensitivity scan = Sensitivity::from_json(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
      p.per_layer = guided_amounts(net, scan, p);
      std::string csv = "layer,amount\n";
      for (const auto& [layer, a] : p.per_layer) csv += fmt::format("{},{:.6f}\n", layer, a);
      write_text(fs::path(job.out_dir) / "guide.csv", csv);
      write_text(fs::path(job.partial_dir) / "log.txt", "per-layer amounts from the scan:\n" + csv);
    }
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed_of(job.key));
    prune(net, p, gen);
    save_net(net, (fs::path(job.out_dir) / "model.pt").string());
    model_metrics(job, net);
  }

  /// `sensitivity`: accuracy against sparsity, one layer at a time (sensitivity.h).
  void run_sensitivity(StageJob& job) {
    const lang::StageInstance& s = job.stage;
    Dataset& d = dataset(job.plan, s.data_in);
    Net net = input_net(job);
    const torch::Device dev = pick_device(s);
    net.to(dev, false);
    Sensitivity settings;
    for (const auto& a : s.value("amounts")->items) settings.amounts.push_back(a.num / 100.0);
    settings.criterion = s.value("criterion")->str;
    settings.structured = s.value("structure")->str == "structured";
    settings.max_drop = num(s, "max_drop") / 100.0;
    // `auto`: the validation split when `data` holds one out, so the test set chooses nothing (W0007).
    settings.split = s.value("split")->str;
    if (settings.split == "auto") settings.split = d.val_x.defined() ? "validation" : "test";
    auto [ex, ey] = eval_split(d, settings.split);
    const auto images = static_cast<std::int64_t>(num(s, "images"));
    const torch::Tensor x = images > 0 ? ex->slice(0, 0, std::min(images, ex->size(0))) : *ex;
    const torch::Tensor y = images > 0 ? ey->slice(0, 0, std::min(images, ey->size(0))) : *ey;
    settings.images = x.size(0);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed_of(job.key));
    const auto t0 = std::chrono::steady_clock::now();
    const Sensitivity scan = scan_sensitivity(
        net, settings, [&](Net& n) { return score_predictions(predict(*n.module, x, 512, dev), y, d.classes).accuracy; }, gen,
        [&](std::size_t i, std::size_t n, const std::string& layer) {
          const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          job.progress.message(fmt::format("sensitivity #{}: layer {}/{} `{}` ({:.0f}s)", s.id, i + 1, n, layer, secs));
        });
    const fs::path out(job.out_dir);
    write_text(out / "sensitivity.json", scan.json());
    write_text(out / "sensitivity.csv", scan.csv());
    write_text(out / "sensitivity.txt", scan.table());
    job.metrics["baseline_accuracy"] = scan.baseline;
    job.metrics["scanned_layers"] = static_cast<double>(scan.layers.size());
    job.metrics["picked_sparsity"] = scan.picked_sparsity();
    net.to(torch::kCPU, false);
    model_metrics(job, net);
  }

  /// `quantize`: puts a quantizer on every chosen conv/linear layer (quant.h) and calibrates the
  /// activation ranges on training batches when activations are quantized.
  void run_quantize(StageJob& job) {
    const lang::StageInstance& s = job.stage;
    const QuantSpec q = quant_spec(s);
    Net net = input_net(job);
    const int count = quantize_net(net, s);
    const int batches = static_cast<int>(num(s, "calibrate"));
    if (q.abits < 32 && q.method != "float" && batches > 0) {
      // Calibration: the activation ranges seen on `batches` seeded batches of 128 training images.
      Dataset& d = dataset(job.plan, s.data_in);
      auto gen = at::make_generator<at::CPUGeneratorImpl>(seed_of(job.key));
      const auto perm = torch::randperm(d.train_x.size(0), gen);
      net.module->eval();
      torch::NoGradGuard no_grad;
      g_calibrating = true;
      try {
        for (std::int64_t b = 0; b < batches && b * 128 < perm.size(0); ++b)
          net.module->forward(d.train_x.index_select(0, perm.slice(0, b * 128, std::min(perm.size(0), (b + 1) * 128))));
      } catch (...) {
        g_calibrating = false;
        throw;
      }
      g_calibrating = false;
    }
    save_net(net, (fs::path(job.out_dir) / "model.pt").string());
    job.metrics["quantized_layers"] = count;
    model_metrics(job, net);
  }

  /// `score`: the course score of the model at this point, every component (score.h).
  void run_score(StageJob& job) {
    const lang::StageInstance& s = job.stage;
    Net net = input_net(job);
    const ScoreReport r = score(net, {s.value("version")->str, s.value("count")->str == "all"});
    write_text(fs::path(job.out_dir) / "score.txt", r.text());
    job.metrics["score"] = r.total;
    job.metrics["score_w"] = r.w;
    job.metrics["score_f"] = r.f;
    job.metrics["score_q_w"] = r.q_w;
    job.metrics["score_q_a"] = r.q_a;
    job.metrics["score_p_s"] = r.p_s;
    job.metrics["score_p_u"] = r.p_u;
    job.metrics["score_param_term"] = r.param_term;
    job.metrics["score_ops_term"] = r.ops_term;
  }

  /// `export` (export.h); the command line copies the file from the cache entry to its path.
  void run_export(StageJob& job) {
    Net net = input_net(job);
    const lang::StageInstance& m = job.plan.chain_model(job.stage.id);
    const std::vector<char> bytes = export_bytes(net, m, dataset(job.plan, m.data_in));
    write_file_atomic((fs::path(job.out_dir) / "export.pt").string(), std::string_view(bytes.data(), bytes.size()));
    job.metrics["export_bytes"] = static_cast<double>(bytes.size());
  }

  /// `convert`: realised int8 inference on the CPU (int8.h), calibrated on seeded training batches.
  void run_convert(StageJob& job) {
    const lang::StageInstance& s = job.stage;
    Net net = input_net(job);
    const std::string engine = s.value("engine")->str;
    if (net.half) throw StageError("`convert` turns a float32 model into int8 kernels, and this one is half precision", "drop `quantize 16 bits float` before `convert`");
    if (!int8_engine_available(engine))
      throw StageError(fmt::format("this LibTorch build has no {} quantized engine", engine), "use `engine: onednn` (x86) or `engine: qnnpack` (ARM)");
    net.to(torch::kCPU, false);
    job.metrics["int8_convs"] = convert_int8(net, engine, seeded_batches(job, 8, 64));
    save_net(net, (fs::path(job.out_dir) / "model.pt").string());
    model_metrics(job, net);
  }

  void run_evaluate(StageJob& job) {
    const lang::StageInstance& s = job.stage;
    Dataset& d = dataset(job.plan, s.data_in);
    Net net = input_net(job);
    torch::Device dev = pick_device(s);
    if (!net.int8.empty()) {  // int8 kernels run on the CPU
      if (s.param("device")->origin == lang::Origin::Given && dev.is_cuda())
        throw StageError("this model runs LibTorch's int8 CPU kernels (`convert`), and `device: cuda` asks for the GPU",
                         "evaluate it on the CPU: leave `device` out");
      dev = torch::kCPU;
    }
    net.to(dev, false);
    const auto batch = static_cast<std::int64_t>(num(s, "batch"));
    auto [x, y] = eval_split(d, s.value("split")->str);
    const Scores sc = score_predictions(predict(*net.module, *x, batch, dev), *y, d.classes);
    for (const auto& m : s.value("metrics")->items) {
      if (m.str == "accuracy") job.metrics["accuracy"] = sc.accuracy;
      if (m.str == "loss") job.metrics["loss"] = sc.loss;
      if (m.str == "precision") job.metrics["precision"] = sc.precision;
      if (m.str == "recall") job.metrics["recall"] = sc.recall;
      if (m.str == "f1") job.metrics["f1"] = sc.f1;
      if (m.str == "confusion") write_text(fs::path(job.out_dir) / "confusion.csv", confusion_csv(sc));
      if (m.str == "precision" || m.str == "recall" || m.str == "f1")
        write_text(fs::path(job.out_dir) / "per_class.csv", per_class_csv(sc));
    }
    if (const std::string where = s.value("latency")->str; where != "none") {
      if (where == "cuda" && !torch::cuda::is_available())
        throw StageError("`latency: cuda`, but this LibTorch build or machine has no CUDA device", "use `latency: cpu`");
      if (where == "cuda" && !net.int8.empty())
        throw StageError("`latency: cuda`, but this model runs LibTorch's int8 CPU kernels (`convert`)", "use `latency: cpu`");
      const torch::Device ldev = where == "cuda" ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
      net.to(ldev, false);
      const Latency l = measure_latency(*net.module, x->slice(0, 0, std::min(batch, x->size(0))), ldev);
      job.metrics["latency_ms"] = l.median_ms;
      job.metrics["latency_p90_ms"] = l.p90_ms;
      job.metrics["images_per_s"] = l.images_per_s;
      job.metrics["latency_batch"] = static_cast<double>(std::min(batch, x->size(0)));
    }
    model_metrics(job, net);
  }

  std::map<int, Dataset> data_;
};

}  // namespace

std::unique_ptr<StageRunner> make_torch_runner(int threads) { return std::make_unique<TorchRunner>(threads); }

}  // namespace whittle::runtime
