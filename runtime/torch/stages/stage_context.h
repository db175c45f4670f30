// What the LibTorch code of every stage shares, and the table of stage kinds. A stage kind is one
// entry, {name, run, preview, what models it accepts}, defined in the file of its family
// (stage_setup.cc, stage_fit.cc, stage_prune.cc, stage_quantize.cc, stage_measure.cc) beside its
// catalog entry in stdlib/stages.yaml (docs/architecture.md, "Adding a stage").
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/plan/params.h"
#include "runtime/plan/stage.h"
#include "runtime/torch/data/data.h"
#include "runtime/torch/models/models.h"
#include "runtime/torch/stages/preview.h"

namespace whittle::runtime::torchrt {

/// One stage's job, with the run's data sets (loaded once per run) and the helpers every family uses.
class StageContext {
 public:
  StageContext(StageJob& job, std::map<int, Dataset>& datasets);

  StageJob& job;
  const Plan& plan;
  const lang::StageInstance& stage;
  const Params params;  ///< the stage's parameters, by name and type

  /// A `data` stage's data set, loaded on first use in this run.
  Dataset& dataset(int data_id);
  /// The data in force for this stage.
  Dataset& data() { return dataset(stage.data_in); }
  /// The model stage `stage_id` produced: its chain's architecture with that stage's weights and masks.
  Net chain_net(int stage_id);
  /// The model this stage starts from; refused when converted to int8 kernels and the stage's kind
  /// does not accept such a model.
  Net input_net();
  /// The model figures (size_and_cost) into the stage's metrics.
  void model_metrics(const Net& net, int views = 1);
  /// The stage's model, as its entry's model file (kModelFile).
  void save_model(const Net& net);
  /// A file of the stage's entry (every write checked: a full disk is an error, never a short file).
  void write(const std::string& file, const std::string& text);
  std::filesystem::path out(const std::string& file) const;
  std::filesystem::path partial(const std::string& file) const;
  /// The device a stage asks for (`device:`): `auto` is CUDA when this build and machine have it.
  /// The job records it as where the stage ran.
  torch::Device device();
  /// A generator seeded by the stage's key.
  at::Generator generator() const;
  /// `count` seeded batches of `size` training images of the chain's data (ThiNet, int8 calibration).
  std::vector<torch::Tensor> seeded_batches(int count, std::int64_t size);
  void message(const std::string& text) { job.progress.message(text); }

 private:
  std::map<int, Dataset>& datasets_;
};

/// The images and labels a stage evaluates on: the test set, or the validation split `data` held out.
std::pair<const torch::Tensor*, const torch::Tensor*> eval_split(const Dataset& d, const std::string& split);
Shape shape_of(const Dataset& d);

struct StageKind {
  const char* name;
  void (*run)(StageContext& ctx);
  /// What the stage does to a model in the static preview (preview.h), from freshly initialised
  /// weights; null when it leaves the figures as they are.
  void (*preview)(const lang::StageInstance& s, Net& net, StagePreview& pv) = nullptr;
  /// Whether it takes a model converted to int8 kernels (`convert`), which is for inference only.
  bool accepts_int8 = false;
};

/// Every stage kind the module runs, in catalog order.
const std::vector<const StageKind*>& stage_kinds();
/// The kind named `name`, or null.
const StageKind* stage_kind(const std::string& name);

}  // namespace whittle::runtime::torchrt
