// The shared stage context and the table of stage kinds (stage_context.h).
#include "runtime/torch/stages/stage_context.h"
#include "runtime/torch/compression/model_file.h"

#include <fmt/format.h>

#include "runtime/cache/data_files.h"
#include "runtime/cache/store.h"
#include "runtime/system/atomic_file.h"
#include "runtime/torch/compression/score.h"
#include "runtime/torch/training/fit.h"

namespace whittle::runtime::torchrt {
namespace fs = std::filesystem;

// One entry per kind, each defined in its family's file.
extern const StageKind kData, kModel, kTrain, kRetrain, kPrune, kSensitivity, kQuantize, kConvert, kEvaluate, kScore,
    kExport;

const std::vector<const StageKind*>& stage_kinds() {
  static const std::vector<const StageKind*> kinds = {&kData,     &kModel,       &kTrain,    &kRetrain,
                                                      &kPrune,    &kSensitivity, &kQuantize, &kConvert,
                                                      &kEvaluate, &kScore,       &kExport};
  return kinds;
}

const StageKind* stage_kind(const std::string& name) {
  for (const StageKind* k : stage_kinds())
    if (name == k->name) return k;
  return nullptr;
}

StageContext::StageContext(StageJob& j, std::map<int, Dataset>& datasets)
    : job(j), plan(j.plan), stage(j.stage), params(j.stage), datasets_(datasets) {}

Dataset& StageContext::dataset(int data_id) {
  auto it = datasets_.find(data_id);
  if (it != datasets_.end()) return it->second;
  const lang::StageInstance& s = plan.stage(data_id);
  std::string error;
  auto files = locate_data(s, error, plan.data_dir, plan.data_roots);
  if (!files) throw StageError(error);
  return datasets_.emplace(data_id, load_dataset(s, *files)).first->second;
}

Net StageContext::chain_net(int stage_id) { return load_stage_model(plan, stage_id, job.entries.at(stage_id)); }

Net StageContext::input_net() {
  Net net = chain_net(stage.model_in);
  const StageKind* kind = stage_kind(stage.kind);
  if (!net.int8.empty() && !(kind && kind->accepts_int8))
    throw StageError(
        fmt::format(
            "`{}` needs a float model, and this one was converted to int8 kernels by `convert` (inference only)",
            stage.kind),
        "put `convert` after every train, prune and quantize of the chain; evaluate, score and export may follow it");
  return net;
}

void StageContext::model_metrics(const Net& net, int views) {
  for (const auto& [k, v] : size_and_cost(net, views)) job.metrics[k] = v;
}

void StageContext::save_model(const Net& net) { save_net(net, out(kModelFile).string()); }

void StageContext::write(const std::string& file, const std::string& text) {
  write_file_atomic(out(file).string(), text);
}

fs::path StageContext::out(const std::string& file) const { return fs::path(job.out_dir) / file; }

fs::path StageContext::partial(const std::string& file) const { return fs::path(job.partial_dir) / file; }

torch::Device StageContext::device() {
  const std::string want = params.word("device");
  const bool cuda = torch::cuda::is_available();
  if (want == "cuda" && !cuda)
    throw StageError(
        "`device: cuda`, but this LibTorch build or machine has no CUDA device",
        "Debian's LibTorch is CPU-only: build whittle against a CUDA LibTorch (docs/training.md, \"GPU build\"), or "
        "use `device: auto`");
  const torch::Device dev = want != "cpu" && cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  job.device = dev.is_cuda() ? "cuda" : "cpu";  // what the record says the stage used
  return dev;
}

at::Generator StageContext::generator() const { return at::make_generator<at::CPUGeneratorImpl>(seed_of(job.key)); }

std::vector<torch::Tensor> StageContext::seeded_batches(int count, std::int64_t size) {
  // A prune needs no data of its own: ThiNet samples the training set of its chain's model.
  const int data_id = stage.data_in >= 0 ? stage.data_in : plan.chain_model(stage.id).data_in;
  const Dataset& d = dataset(data_id);
  auto gen = generator();
  const auto perm = torch::randperm(d.train_x.size(0), gen);
  std::vector<torch::Tensor> batches;
  for (std::int64_t b = 0; b < count && b * size < perm.size(0); ++b)
    batches.push_back(d.train_x.index_select(0, perm.slice(0, b * size, std::min(perm.size(0), (b + 1) * size))));
  return batches;
}

std::pair<const torch::Tensor*, const torch::Tensor*> eval_split(const Dataset& d, const std::string& split) {
  if (split != "validation") return {&d.test_x, &d.test_y};
  if (!d.val_x.defined())
    throw StageError("there is no validation split to evaluate on",
                     "hold one out of the training set in the `data` stage: `validation: 10%`");
  return {&d.val_x, &d.val_y};
}

Shape shape_of(const Dataset& d) { return {d.train_x.size(1), d.train_x.size(2), d.train_x.size(3), d.classes}; }

}  // namespace whittle::runtime::torchrt
