// Data sets in memory: loaded once per run, batches assembled by indexing whole tensors.
#pragma once
#include <torch/torch.h>

#include <string>

#include "runtime/data_files.h"

namespace whittle::runtime::torchrt {

struct Dataset {
  std::string name;
  torch::Tensor train_x, train_y;  ///< float [N, C, H, W] normalised; int64 [N]
  torch::Tensor test_x, test_y;
  int classes = 10;
};

/// Loads the data set of a `data` stage (files already located). Throws StageError on bad files.
Dataset load_dataset(const lang::StageInstance& data_stage, const DataFiles& files);

/// A seeded random crop (zero padding `pad`) and horizontal flip (probability `flip_p`) of a batch.
torch::Tensor augment_batch(const torch::Tensor& x, int pad, double flip_p, torch::Generator& gen);

}  // namespace whittle::runtime::torchrt
