// Training: optimizer, learning rate with rewinding, one epoch (fit.h).
#include "runtime/torch/training/fit.h"

#include <ATen/autocast_mode.h>
#include <fmt/format.h>
#include <torch/version.h>

#include <cmath>
#include <set>

#include "runtime/plan/params.h"
#include "runtime/torch/models/layers.h"
#include "runtime/torch/training/schedule.h"

namespace whittle::runtime::torchrt {

std::uint64_t seed_of(const std::string& key, std::uint64_t salt) {
  return std::stoull(key.substr(0, 15), nullptr, 16) ^ (salt * 0x9E3779B97F4A7C15ULL);
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const lang::Val& opt, Net& net, double norm_bias_lr) {
  const Params o(opt);
  const double lr = o.number("lr"), wd = o.number("weight_decay");
  const bool decay_all = o.flag("decay_norm_and_bias");
  // BatchNorm biases, in a group of their own when their learning rate is scaled (airbench).
  std::set<const void*> bn_biases;
  if (norm_bias_lr != 1)
    for (const auto& m : net.module->modules(/*include_self=*/false))
      if (const auto* bn = dynamic_cast<const BNImpl*>(m.get())) bn_biases.insert(bn->bias.unsafeGetTensorImpl());
  std::vector<torch::Tensor> decayed, plain, scaled;
  for (auto& p : net.module->parameters()) {
    if (bn_biases.count(p.unsafeGetTensorImpl()))
      scaled.push_back(p);
    else
      (decay_all || p.dim() >= 2 ? decayed : plain).push_back(p);
  }
  auto groups = [&](auto make_options) {
    std::vector<torch::optim::OptimizerParamGroup> g;
    g.emplace_back(decayed, std::make_unique<decltype(make_options(wd))>(make_options(wd)));
    if (!plain.empty()) g.emplace_back(plain, std::make_unique<decltype(make_options(0.0))>(make_options(0.0)));
    // Last: the scaled group, its weight decay divided by the factor its learning rate is multiplied
    // by, so that the decay each step applies (lr × wd) is the other parameters' (set_lr scales it).
    if (!scaled.empty()) {
      auto options = make_options(decay_all ? wd / norm_bias_lr : 0.0);
      options.set_lr(lr * norm_bias_lr);
      g.emplace_back(scaled, std::make_unique<decltype(make_options(wd))>(options));
    }
    return g;
  };
  if (opt.str == "sgd") {
    auto mk = [&](double w) {
      return torch::optim::SGDOptions(lr).momentum(o.number("momentum")).nesterov(o.flag("nesterov")).weight_decay(w);
    };
    return std::make_unique<torch::optim::SGD>(groups(mk), mk(wd));
  }
  const auto betas = std::make_tuple(o.number("beta1"), o.number("beta2"));
  if (opt.str == "adam") {
    auto mk = [&](double w) { return torch::optim::AdamOptions(lr).betas(betas).weight_decay(w); };
    return std::make_unique<torch::optim::Adam>(groups(mk), mk(wd));
  }
  auto mk = [&](double w) { return torch::optim::AdamWOptions(lr).betas(betas).weight_decay(w); };
  return std::make_unique<torch::optim::AdamW>(groups(mk), mk(wd));
}

int weight_rewind_epoch(const lang::StageInstance& s) {
  const Params p(s);
  if (!p.declares("rewind")) return -1;
  const lang::Val& r = p.value("rewind");
  if (r.kind != lang::Val::Kind::Call || r.str != "weights") return -1;
  return static_cast<int>(Params(r).count("epoch"));
}

namespace {

/// The learning rate of every group; make_optimizer's last group, BatchNorm biases scaled by
/// `norm_bias_lr` when that is not 1, gets it times that.
void set_lr(torch::optim::Optimizer& opt, double lr, double norm_bias_lr) {
  auto& groups = opt.param_groups();
  for (std::size_t i = 0; i < groups.size(); ++i)
    groups[i].options().set_lr(norm_bias_lr != 1 && i + 1 == groups.size() && groups.size() > 1 ? lr * norm_bias_lr
                                                                                                : lr);
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

/// The learning rate at each point of a train or retrain (docs/language.md, "Meanings that are fixed").
std::function<double(double)> lr_function(const Plan& plan, const lang::StageInstance& s) {
  const Params p(s);
  if (p.value("optimizer").kind != lang::Val::Kind::Call)
    throw StageError("no optimizer: give `optimizer:` or put a `train` before it");
  LrSchedule own{&p.value("schedule"), Params(p.value("optimizer")).number("lr"), p.number("epochs")};
  if (s.kind == "train") return [own](double t) { return own.at(t); };
  const Params tr(plan.stage(s.train));
  const double T = tr.number("epochs");
  LrSchedule train{&tr.value("schedule"), Params(tr.value("optimizer")).number("lr"), T};
  // Rewinding replays the train's schedule: its last E epochs (`lr`), or from epoch K (`weights`).
  const bool lr_rewind =
      p.declares("rewind") && p.value("rewind").kind == lang::Val::Kind::Call && p.value("rewind").str == "lr";
  if (const int k = weight_rewind_epoch(s); lr_rewind || k >= 0) {
    const double from = lr_rewind ? T - p.number("epochs") : k;
    return [train, from](double t) { return train.at(from + t); };
  }
  if (p.given("schedule")) return [own](double t) { return own.at(t); };
  const double last = train.at(T - 1);  // fine-tuning at the last learning rate of the train's schedule
  return [last](double) { return last; };
}

/// `lr_batch: N`: the learning rate is given for batches of N images; a batch of B trains at B/N of it.
double lr_batch_scale(const lang::StageInstance& s) {
  const Params p(s);
  if (!p.declares("lr_batch") || p.count("lr_batch") == 0) return 1;
  return static_cast<double>(p.count("batch")) / static_cast<double>(p.count("lr_batch"));
}

}  // namespace

Trainer::Trainer(const Plan& plan, const lang::StageInstance& s, std::string key, Dataset& data, torch::Device device,
                 Progress& progress)
    : stage(s),
      epochs(static_cast<int>(Params(s).count("epochs"))),
      dev(device),
      amp(Params(s).word("precision") == "amp"),
      channels_last(Params(s).declares("channels_last") && Params(s).flag("channels_last")),
      key_(std::move(key)),
      data_(data),
      progress_(progress),
      lr_at_([f = lr_function(plan, s), scale = lr_batch_scale(s)](double t) { return f(t) * scale; }),
      augment_(Params(plan.stage(s.data_in)).value("augment"), static_cast<std::uint64_t>(plan.stage(s.data_in).seed)),
      sparsify_(s, epochs),
      norm_bias_lr(Params(s).number("norm_bias_lr")),
      batches((data.train_x.size(0) + Params(s).count("batch") - 1) / Params(s).count("batch")),
      average(Params(s).declares("average") ? Params(s).value("average") : lang::Val{}, epochs * batches),
      smoothing_(Params(s).number("label_smoothing")),
      clip_(Params(s).number("clip")) {}

void Trainer::epoch(Net& net, torch::optim::Optimizer& opt, int epoch, std::chrono::steady_clock::time_point t0) {
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t batch = Params(stage).count("batch");
  const auto ce_options = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(smoothing_);
  const std::int64_t n = data_.train_x.size(0);
  net.module->train();
  // A `whiten` layer's bias learns in the stage's first epochs only (its weight never does).
  for (const auto& m : net.module->modules(/*include_self=*/false))
    if (auto* w = dynamic_cast<WhitenImpl*>(m.get())) w->bias.requires_grad_(epoch < w->bias_epochs);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed_of(key_, static_cast<std::uint64_t>(epoch) + 1));
  // The global generator (stochastic BinaryConnect) too, so that a resumed stage is bitwise the same.
  torch::manual_seed(seed_of(key_, static_cast<std::uint64_t>(epoch) + 0x51ED));
  // Batches are gathered where the data set is (on a GPU, resident there: data.h); the order is
  // drawn on the CPU either way, so a GPU run sees the images in the CPU run's order.
  const auto [train_x, train_y] = data_.train_on(dev);
  const auto order = torch::randperm(n, gen);  // on the CPU: each batch's images' places (alternate_flip)
  auto perm = train_x.is_cuda() ? order.pin_memory().to(dev, /*non_blocking=*/true) : order;
  double loss_sum = 0, correct = 0, seen = 0;
  // Running sums stay on the device; they are read (a synchronisation) every few batches.
  auto loss_acc = torch::zeros({}, torch::TensorOptions(dev).dtype(torch::kFloat64));
  auto correct_acc = torch::zeros({}, torch::TensorOptions(dev).dtype(torch::kInt64));
  for (std::int64_t b = 0; b < batches; ++b) {
    const auto idx = perm.slice(0, b * batch, std::min(n, (b + 1) * batch));
    Batch bt{train_x.index_select(0, idx),
             train_y.index_select(0, idx),
             {},
             1,
             order.slice(0, b * batch, std::min(n, (b + 1) * batch))};
    augment_.apply(bt, gen, epoch + static_cast<double>(b) / static_cast<double>(batches));
    if (dev.is_cuda() && !bt.x.is_cuda())
      bt.x = bt.x.pin_memory(), bt.y = bt.y.pin_memory();  // a set too large to be resident
    auto x = bt.x.to(dev, /*non_blocking=*/true);
    if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    const auto y = bt.y.to(dev, true);
    set_lr(opt, lr_at_(epoch + static_cast<double>(b) / static_cast<double>(batches)), norm_bias_lr);
    clear_grads(*net.module);
    torch::Tensor out, loss;
    {
      AutocastScope autocast(amp);
      out = net.module->forward(x);
      loss = torch::nn::functional::cross_entropy(out, y, ce_options);
      if (bt.y_mix.defined())
        loss = loss * bt.lam +
               torch::nn::functional::cross_entropy(out, bt.y_mix.to(dev, true), ce_options) * (1 - bt.lam);
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
    sparsify_.after_backward(net);
    if (clip_ > 0) torch::nn::utils::clip_grad_norm_(net.module->parameters(), clip_);
    opt.step();
    net.apply_masks();
    average.after_step(net, epoch * batches + b + 1);
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
      progress_.step(epoch + 1, epochs, static_cast<int>(b + 1), static_cast<int>(batches), loss_sum / seen,
                     correct / seen, secs);
    }
  }
  sparsify_.after_epoch(net, epoch + 1, progress_);
  if (seen > 0) last_loss = loss_sum / seen, last_accuracy = correct / seen;
  last_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                     .count();  // the last batch's item() waited for the device
}

}  // namespace whittle::runtime::torchrt
