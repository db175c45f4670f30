// Measuring a model: predictions in batches, classification metrics, and inference latency.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>

#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

/// The logits of every image of `x`, in eval mode without gradients, computed on `device` in
/// batches of `batch`; returned on the CPU.
torch::Tensor predict(NetImpl& net, const torch::Tensor& x, std::int64_t batch, torch::Device device,
                      bool channels_last = false);

/// How many forward passes `evaluate tta:` makes per image: none 1, flip 2, flip_translate 6.
int tta_views(const std::string& tta);
/// predict() with test-time augmentation (airbench's): flip averages the logits of the image and
/// its mirror; flip_translate gives that half the weight and the same of the image shifted by one
/// pixel up-left and down-right (edges reflected) the other half.
torch::Tensor predict_tta(NetImpl& net, const torch::Tensor& x, std::int64_t batch, torch::Device device,
                          const std::string& tta);

/// Classification metrics of logits against labels.
struct Scores {
  double accuracy = 0, loss = 0;
  double precision = 0, recall = 0, f1 = 0;  ///< macro averages over the classes
  torch::Tensor confusion;                   ///< int64 [classes, classes]: row = true class, column = predicted
  torch::Tensor class_precision, class_recall, class_f1;
};
Scores score_predictions(const torch::Tensor& logits, const torch::Tensor& labels, int classes);

/// The confusion matrix as CSV (a header row of predicted classes) and per-class metrics as CSV.
std::string confusion_csv(const Scores& s);
std::string per_class_csv(const Scores& s);

/// Inference latency of one batch: warm-up, then timed repetitions (median and 90th percentile).
struct Latency {
  double median_ms = 0, p90_ms = 0, images_per_s = 0;
  int runs = 0;
};
Latency measure_latency(NetImpl& net, const torch::Tensor& batch, torch::Device device);

}  // namespace whittle::runtime::torchrt
