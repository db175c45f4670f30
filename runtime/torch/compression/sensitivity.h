// The per-layer sensitivity scan (`sensitivity`) and the amounts a guided prune (`prune P guide:`)
// takes from it. The scan prunes one layer at a time, by each amount in turn, on top of the masks
// already there, measures accuracy, and restores the model; a layer's pick is the largest amount
// up to which every amount lost at most `max_drop` against the unpruned accuracy.
#pragma once
#include <ATen/core/Generator.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "runtime/torch/compression/prune.h"
#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

struct LayerSensitivity {
  std::string layer;             ///< a conv/linear (structured: the producer of a channel group)
  std::int64_t units = 0;        ///< weights (structured: filters) alive when scanned
  std::vector<double> accuracy;  ///< one per amount
  double pick = 0;               ///< the largest amount within max_drop (0: none)
};

struct Sensitivity {
  std::vector<double> amounts;  ///< fractions of the alive weights or filters, ascending
  std::string criterion = "l1";
  bool structured = false;
  double max_drop = 0.01;  ///< accuracy, as a fraction
  std::string split;       ///< what the accuracies were measured on
  std::int64_t images = 0;
  double baseline = 0;  ///< the accuracy before any trial
  std::vector<LayerSensitivity> layers;

  std::string json() const;
  static Sensitivity from_json(const std::string& text);
  /// layer,units,amount,accuracy,drop,pick: one row per trial (for tables and plots).
  std::string csv() const;
  /// Accuracy per layer and amount, the pick last: what `whittle run` prints.
  std::string table() const;
  /// The share of the scanned units the picks would remove together.
  double picked_sparsity() const;
};

/// Scans `net` (restored after every trial). `accuracy` measures the net as it is; `on_layer` is
/// told each layer as its trials start.
Sensitivity scan_sensitivity(Net& net, Sensitivity settings, const std::function<double(Net&)>& accuracy,
                             at::Generator& gen,
                             const std::function<void(std::size_t, std::size_t, const std::string&)>& on_layer);

/// The per-layer amounts of `prune spec.amount guide: scan` on `net`: the scan's picks, all scaled
/// by one factor (and capped at the largest amount scanned) so that together they remove
/// spec.amount of the alive weights (filters) of the layers the prune touches. Throws StageError
/// when the scan does not fit the prune or cannot reach its amount.
std::map<std::string, double> guided_amounts(const Net& net, const Sensitivity& scan, const PruneSpec& spec);

}  // namespace whittle::runtime::torchrt
