// Data sets in memory: loaded once per run, batches assembled by indexing whole tensors.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>

#include "runtime/cache/data_files.h"

namespace whittle::runtime::torchrt {

/// The shape of a data set's images and its classes: what a model is built for.
struct Shape {
  std::int64_t channels, height, width, classes;
};

struct Dataset {
  std::string name;
  torch::Tensor train_x, train_y;  ///< float [N, C, H, W] normalised; int64 [N]
  torch::Tensor test_x, test_y;
  std::int64_t test_total = 0;  ///< the test split's images before `test_subset` took a slice; 0: test_x is all of it
  torch::Tensor val_x, val_y;   ///< held out of the training set (`validation:`); undefined when none
  int classes = 10;
  std::vector<double> mean, std;  ///< the per-channel normalisation applied; empty when none

  /// The training split where a stage training on `device` makes its batches: these tensors on the
  /// CPU; on a GPU, one copy made there the first time and kept for every stage of the run that
  /// trains there, so that batches are gathered and augmented on the device and nothing crosses the
  /// bus per batch. A split larger than kResidentBytes stays on the CPU (batches are copied over).
  std::pair<torch::Tensor, torch::Tensor> train_on(torch::Device device);
  /// How many images the whole test split has (what a `test_subset` slice is a slice of).
  std::int64_t test_images() const { return test_total > 0 ? test_total : test_x.size(0); }
  static constexpr std::int64_t kResidentBytes = 4LL << 30;

 private:
  std::map<std::string, std::pair<torch::Tensor, torch::Tensor>> resident_;  ///< by device
};

/// The image shape and classes of a `data` stage's set, known without loading it.
Shape dataset_shape(const lang::StageInstance& data_stage);

/// Loads the data set of a `data` stage (files already located). Throws StageError on bad files.
/// A seeded subset of `n` images of a split (all of it when `n` is 0 or more than it holds): what
/// `data ... test_subset: N` keeps, and `evaluate test_subset: N` with the data's seed picks the same.
std::pair<torch::Tensor, torch::Tensor> seeded_slice(const torch::Tensor& x, const torch::Tensor& y, std::int64_t n,
                                                     std::uint64_t seed);

Dataset load_dataset(const lang::StageInstance& data_stage, const DataFiles& files);

}  // namespace whittle::runtime::torchrt
