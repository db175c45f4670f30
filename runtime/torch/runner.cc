// The LibTorch runner: data, model, train, retrain, prune and evaluate.
#include "runtime/torch/runner.h"

#include <fmt/format.h>
#include <torch/torch.h>
#include <torch/version.h>
#include <ATen/autocast_mode.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "runtime/data_files.h"
#include "runtime/torch/augment.h"
#include "runtime/torch/data.h"
#include "runtime/torch/evaluate.h"
#include "runtime/torch/export.h"
#include "runtime/torch/layers.h"
#include "runtime/torch/models.h"
#include "runtime/torch/prune.h"
#include "runtime/torch/quant.h"
#include "runtime/torch/schedule.h"
#include "runtime/torch/sparsify.h"
#include "runtime/torch/score.h"

namespace whittle::runtime {
namespace fs = std::filesystem;
using namespace torchrt;

std::string libtorch_version() { return fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH); }

namespace {

std::uint64_t seed_of(const std::string& key, std::uint64_t salt = 0) {
  return std::stoull(key.substr(0, 15), nullptr, 16) ^ (salt * 0x9E3779B97F4A7C15ULL);
}

double num(const lang::StageInstance& s, const char* name) { return s.value(name)->num; }

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const lang::Val& opt, Net& net) {
  const double lr = opt.field("lr")->num, wd = opt.field("weight_decay")->num;
  const bool decay_all = opt.field("decay_norm_and_bias")->num != 0;
  std::vector<torch::Tensor> decayed, plain;
  for (auto& p : net.module->parameters()) (decay_all || p.dim() >= 2 ? decayed : plain).push_back(p);
  auto groups = [&](auto make_options) {
    std::vector<torch::optim::OptimizerParamGroup> g;
    g.emplace_back(decayed, std::make_unique<decltype(make_options(wd))>(make_options(wd)));
    if (!plain.empty()) g.emplace_back(plain, std::make_unique<decltype(make_options(0.0))>(make_options(0.0)));
    return g;
  };
  if (opt.str == "sgd") {
    auto mk = [&](double w) {
      return torch::optim::SGDOptions(lr).momentum(opt.field("momentum")->num).nesterov(opt.field("nesterov")->num != 0).weight_decay(w);
    };
    return std::make_unique<torch::optim::SGD>(groups(mk), mk(wd));
  }
  const auto betas = std::make_tuple(opt.field("beta1")->num, opt.field("beta2")->num);
  if (opt.str == "adam") {
    auto mk = [&](double w) { return torch::optim::AdamOptions(lr).betas(betas).weight_decay(w); };
    return std::make_unique<torch::optim::Adam>(groups(mk), mk(wd));
  }
  auto mk = [&](double w) { return torch::optim::AdamWOptions(lr).betas(betas).weight_decay(w); };
  return std::make_unique<torch::optim::AdamW>(groups(mk), mk(wd));
}

/// Mixed precision (bfloat16 autocast on CUDA, which needs no loss scaling) for one forward pass.
struct AutocastScope {
  bool on;
  explicit AutocastScope(bool enable) : on(enable) {
    if (!on) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
#endif
  }
  ~AutocastScope() {
    if (!on) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, false);
#else
    at::autocast::set_enabled(false);
#endif
    at::autocast::clear_cache();
  }
};

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& g : opt.param_groups()) g.options().set_lr(lr);
}

/// Writes a file by way of a temporary and a rename.
template <typename Write>
void atomic_write(const fs::path& path, Write write) {
  const fs::path tmp = path.string() + ".tmp";
  write(tmp.string());
  fs::rename(tmp, path);
}

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
    else if (k == "evaluate") run_evaluate(job);
    else if (k == "quantize") run_quantize(job);
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
    std::ofstream out(fs::path(job.out_dir) / "log.txt");
    out << fmt::format("#{} {} ({})\n", job.stage.id, job.stage.kind, job.key) << log;
    for (const auto& [name, value] : job.metrics) out << fmt::format("{} = {}\n", name, value);
  }

 private:
  Dataset& dataset(const Plan& p, int data_id) {
    auto it = data_.find(data_id);
    if (it != data_.end()) return it->second;
    const lang::StageInstance& s = p.stage(data_id);
    std::string error;
    auto files = locate_data(s, error);
    if (!files) throw StageError(error);
    return data_.emplace(data_id, load_dataset(s, *files)).first->second;
  }

  /// The `model` stage a stage's chain starts from.
  const lang::StageInstance& chain_model(const Plan& p, int id) {
    int cur = id;
    while (p.stage(cur).kind != "model") cur = p.stage(cur).model_in;
    return p.stage(cur);
  }

  Shape shape_of(const Dataset& d) {
    return {d.train_x.size(1), d.train_x.size(2), d.train_x.size(3), d.classes};
  }

  /// The model a stage produced: its chain's architecture with that stage's weights and masks.
  Net load_chain_net(StageJob& job, int stage_id) {
    const lang::StageInstance& m = chain_model(job.plan, stage_id);
    Dataset& d = dataset(job.plan, m.data_in);
    Net net = build_model(m, shape_of(d), 0);
    load_net(net, (fs::path(job.entries.at(stage_id)) / "model.pt").string());
    return net;
  }
  /// The model a stage starts from.
  Net input_net(StageJob& job) { return load_chain_net(job, job.stage.model_in); }

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
    const bool amp = s.value("precision")->str == "amp";
    if (amp && !dev.is_cuda())
      throw StageError("`precision: amp` (mixed precision) needs a CUDA device, and this stage runs on the CPU",
                       "remove `precision: amp`, or run on a machine with CUDA (README, \"GPU build\")");
    const bool channels_last = s.value("channels_last") && s.value("channels_last")->num != 0;
    Net net = input_net(job);
    net.to(dev, channels_last);
    const int epochs = static_cast<int>(num(s, "epochs"));
    const auto batch = static_cast<std::int64_t>(num(s, "batch"));
    const lang::Val& opt_val = *s.value("optimizer");
    if (opt_val.kind != lang::Val::Kind::Call) throw StageError("no optimizer: give `optimizer:` or put a `train` before it");
    auto opt = make_optimizer(opt_val, net);
    // The learning rate at each point of this stage (LANGUAGE.md, "Meaning that is fixed").
    std::function<double(double)> lr_at;
    LrSchedule own{s.value("schedule"), opt_val.field("lr")->num, static_cast<double>(epochs)};
    if (s.kind == "train") {
      lr_at = [own](double t) { return own.at(t); };
    } else {
      const lang::StageInstance& tr = job.plan.stage(s.train);
      LrSchedule train{tr.value("schedule"), tr.value("optimizer")->field("lr")->num, num(tr, "epochs")};
      const lang::Val* rewind = s.value("rewind");
      const double T = num(tr, "epochs");
      if (rewind && rewind->kind == lang::Val::Kind::Call && rewind->str == "lr") {
        const double from = T - epochs;  // replay the last `epochs` epochs of the train's schedule
        lr_at = [train, from](double t) { return train.at(from + t); };
      } else if (s.param("schedule")->origin == lang::Origin::Given) {
        lr_at = [own](double t) { return own.at(t); };
      } else {  // fine-tuning at the last learning rate of the train's schedule
        const double last = train.at(T - 1);
        lr_at = [last](double) { return last; };
      }
    }
    // Distillation: the teacher, frozen in eval mode; L = (1 − α)·CE + α·T²·KL(teacher/T ‖ student/T).
    std::optional<Net> teacher;
    double kd_t = 1, kd_alpha = 0;
    if (const lang::Val* kd = s.value("distill"); kd && kd->kind == lang::Val::Kind::Call) {
      teacher = load_chain_net(job, kd->field("teacher")->ref);
      teacher->to(dev, channels_last);
      teacher->module->eval();
      for (auto& p : teacher->module->parameters()) p.set_requires_grad(false);
      kd_t = kd->field("temperature")->num;
      kd_alpha = kd->field("alpha")->num;
    }
    const Augmenter augment(*job.plan.stage(s.data_in).value("augment"));
    const double smoothing = num(s, "label_smoothing"), clip = num(s, "clip");
    const int eval_every = static_cast<int>(num(s, "eval_every"));
    const Sparsify sparsify(s, epochs);
    const bool has_val = d.val_x.defined();
    const fs::path partial(job.partial_dir);
    int start = 0;
    if (fs::exists(partial / "state.txt")) {  // resume after an interruption
      std::ifstream(partial / "state.txt") >> start;
      load_net(net, (partial / "model.pt").string());
      net.to(dev, channels_last);
      torch::serialize::InputArchive a;
      a.load_from((partial / "optim.pt").string(), dev);
      opt->load(a);
      job.progress.message(fmt::format("resuming #{} {} after epoch {} of {}", s.id, s.kind, start, epochs));
    }
    const auto ce_options = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(smoothing);
    const std::int64_t n = d.train_x.size(0);
    const std::int64_t batches = (n + batch - 1) / batch;
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0, correct = 0, seen = 0;
    for (int epoch = start; epoch < epochs; ++epoch) {
      net.module->train();
      auto gen = at::make_generator<at::CPUGeneratorImpl>(seed_of(job.key, static_cast<std::uint64_t>(epoch) + 1));
      // The global generator (stochastic BinaryConnect) too, so that a resumed stage is bitwise the same.
      torch::manual_seed(seed_of(job.key, static_cast<std::uint64_t>(epoch) + 0x51ED));
      const auto perm = torch::randperm(n, gen);
      loss_sum = correct = seen = 0;
      // Running sums stay on the device; they are read (a synchronisation) every few batches.
      auto loss_acc = torch::zeros({}, torch::TensorOptions(dev).dtype(torch::kFloat64));
      auto correct_acc = torch::zeros({}, torch::TensorOptions(dev).dtype(torch::kInt64));
      for (std::int64_t b = 0; b < batches; ++b) {
        const auto idx = perm.slice(0, b * batch, std::min(n, (b + 1) * batch));
        Batch bt{d.train_x.index_select(0, idx), d.train_y.index_select(0, idx), {}, 1};
        augment.apply(bt, gen, epoch + static_cast<double>(b) / static_cast<double>(batches));
        auto x = bt.x.to(dev, /*non_blocking=*/true);
        if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
        const auto y = bt.y.to(dev, true);
        set_lr(*opt, lr_at(epoch + static_cast<double>(b) / static_cast<double>(batches)));
        clear_grads(*net.module);
        torch::Tensor out, loss;
        {
          AutocastScope autocast(amp);
          out = net.module->forward(x);
          loss = torch::nn::functional::cross_entropy(out, y, ce_options);
          if (bt.y_mix.defined())
            loss = loss * bt.lam + torch::nn::functional::cross_entropy(out, bt.y_mix.to(dev, true), ce_options) * (1 - bt.lam);
          if (teacher) {
            torch::Tensor t_out;
            {
              torch::NoGradGuard no_grad;
              t_out = teacher->module->forward(x);
            }
            namespace F = torch::nn::functional;
            auto kl = F::kl_div(F::log_softmax(out.to(torch::kFloat32) / kd_t, F::LogSoftmaxFuncOptions(1)),
                                F::softmax(t_out.to(torch::kFloat32) / kd_t, F::SoftmaxFuncOptions(1)),
                                F::KLDivFuncOptions().reduction(torch::kBatchMean));
            loss = loss * (1 - kd_alpha) + kl * (kd_alpha * kd_t * kd_t);
          }
        }
        loss.backward();
        sparsify.after_backward(net);
        if (clip > 0) torch::nn::utils::clip_grad_norm_(net.module->parameters(), clip);
        opt->step();
        net.apply_masks();
        const double m = static_cast<double>(idx.size(0));
        loss_acc += loss.detach().to(torch::kFloat64) * m;
        correct_acc += out.detach().argmax(1).eq(y).sum();
        seen += m;
        if (b % 8 == 7 || b + 1 == batches || !dev.is_cuda()) {
          loss_sum = loss_acc.item<double>();
          correct = static_cast<double>(correct_acc.item<std::int64_t>());
          if (!std::isfinite(loss_sum))
            throw StageError(fmt::format("the loss became {} at epoch {}, batch {}", loss_sum, epoch + 1, b + 1),
                             "lower the learning rate, or add `clip: 5`");
          const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          job.progress.step(epoch + 1, epochs, static_cast<int>(b + 1), static_cast<int>(batches), loss_sum / seen, correct / seen, secs);
        }
      }
      // Evaluation every N epochs (and after the last), on the validation split when there is one.
      // It is reported, never used to pick a model: the stage keeps its last weights.
      std::string eval_part;
      if (eval_every > 0 && ((epoch + 1) % eval_every == 0 || epoch + 1 == epochs)) {
        auto [ex, ey] = eval_split(d, has_val ? "validation" : "test");
        const Scores sc = score_predictions(predict(*net.module, *ex, 512, dev, channels_last), *ey, d.classes);
        eval_part = fmt::format(", {} loss {:.6f}, {} accuracy {:.4f}", has_val ? "validation" : "test", sc.loss,
                                has_val ? "validation" : "test", sc.accuracy);
        std::ofstream(partial / "history.csv", std::ios::app) << fmt::format("{},{},{:.6f},{:.6f}\n", epoch + 1, has_val ? "validation" : "test", sc.loss, sc.accuracy);
      }
      sparsify.after_epoch(net, epoch + 1, job.progress);
      // An epoch checkpoint: a kill loses at most the epoch in progress. state.txt is written last.
      atomic_write(partial / "model.pt", [&](const std::string& p) { save_net(net, p); });
      atomic_write(partial / "optim.pt", [&](const std::string& p) {
        torch::serialize::OutputArchive a;
        opt->save(a);
        a.save_to(p);
      });
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::ofstream(partial / "log.txt", std::ios::app)
          << fmt::format("epoch {}/{}: loss {:.6f}, accuracy {:.4f}, lr {:.6g}{}, {:.1f}s\n", epoch + 1, epochs, loss_sum / seen,
                         correct / seen, lr_at(epoch + 1.0 - 1e-9), eval_part, elapsed);
      atomic_write(partial / "state.txt", [&](const std::string& p) { std::ofstream(p) << epoch + 1 << "\n"; });
    }
    save_net(net, (fs::path(job.out_dir) / "model.pt").string());
    if (fs::exists(partial / "history.csv")) {
      std::ofstream out(fs::path(job.out_dir) / "evaluations.csv");
      out << "epoch,split,loss,accuracy\n" << std::ifstream(partial / "history.csv").rdbuf();
    }
    if (seen > 0) {
      job.metrics["train_loss"] = loss_sum / seen;
      job.metrics["train_accuracy"] = correct / seen;
    }
    model_metrics(job, net);
  }

  void run_prune(StageJob& job) {
    const lang::StageInstance& s = job.stage;
    Net net = input_net(job);
    PruneSpec p;
    p.amount = num(s, "amount") / 100.0;
    p.global = s.value("scope")->str == "global";
    p.criterion = s.value("criterion")->str;
    p.structured = s.value("structure")->str == "structured";
    p.physical = s.value("physical")->num != 0;
    p.spare_first = s.value("spare_first")->num != 0;
    p.spare_last = s.value("spare_last")->num != 0;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed_of(job.key));
    prune(net, p, gen);
    save_net(net, (fs::path(job.out_dir) / "model.pt").string());
    model_metrics(job, net);
  }

  /// `quantize`: puts a quantizer on every chosen conv/linear layer (quant.h) and calibrates the
  /// activation ranges on training batches when activations are quantized.
  void run_quantize(StageJob& job) {
    const lang::StageInstance& s = job.stage;
    const QuantSpec q = quant_spec(s);
    Net net = input_net(job);
    const std::string which = s.value("layers")->str;
    int count = 0;
    for (auto& l : net.layers()) {
      const bool conv = l.layer->kind() == LayerKind::Conv;
      if (which == "all" || (which == "conv") == conv) quantize_layer(*l.module, q), ++count;
    }
    if (q.method == "float" && which == "all") net.half = true;
    net.masks_changed();
    net.apply_masks();
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
    std::ofstream(fs::path(job.out_dir) / "score.txt") << r.text();
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
    const lang::StageInstance& m = chain_model(job.plan, job.stage.id);
    const std::vector<char> bytes = export_bytes(net, m, dataset(job.plan, m.data_in));
    std::ofstream(fs::path(job.out_dir) / "export.pt", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    job.metrics["export_bytes"] = static_cast<double>(bytes.size());
  }

  void run_evaluate(StageJob& job) {
    const lang::StageInstance& s = job.stage;
    Dataset& d = dataset(job.plan, s.data_in);
    const torch::Device dev = pick_device(s);
    Net net = input_net(job);
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
      if (m.str == "confusion") std::ofstream(fs::path(job.out_dir) / "confusion.csv") << confusion_csv(sc);
      if (m.str == "precision" || m.str == "recall" || m.str == "f1")
        std::ofstream(fs::path(job.out_dir) / "per_class.csv") << per_class_csv(sc);
    }
    if (const std::string where = s.value("latency")->str; where != "none") {
      if (where == "cuda" && !torch::cuda::is_available())
        throw StageError("`latency: cuda`, but this LibTorch build or machine has no CUDA device", "use `latency: cpu`");
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
