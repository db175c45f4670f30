// Architectures (kuangliu/pytorch-cifar conventions) behind one interface, built from a `model`
// stage's parameters and the data set's shape; and their checkpoints (parameters, buffers, masks).
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lang/checked.h"

namespace whittle::runtime::torchrt {

struct NetImpl : torch::nn::Module {
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  /// Multiply-accumulates of the conv and linear layers for one input image (COURSE.md's f),
  /// measured by profile().
  std::int64_t macs() const { return total_macs; }
  std::int64_t total_macs = 0;
  std::map<std::string, std::int64_t> layer_macs;  ///< by module name ("layer1.0.conv1")
};

struct Net {
  std::shared_ptr<NetImpl> module;
  /// Pruning masks by parameter name (1 keeps, 0 removes); re-applied after every optimizer step.
  std::map<std::string, torch::Tensor> masks;
  /// Multiplies the masked parameters by their masks. Cheap when there are none; the pairs are
  /// looked up once (call masks_changed() after editing `masks`).
  void apply_masks();
  void masks_changed() { masked_.clear(); }
  /// Moves the parameters, buffers and masks to `device`; 4-d weights to channels-last if asked.
  void to(torch::Device device, bool channels_last);
  /// Conv and linear weights, in registration order: what pruning ranks.
  std::vector<std::pair<std::string, torch::Tensor>> prunable() const;

 private:
  std::vector<std::pair<torch::Tensor, torch::Tensor>> masked_;  ///< (parameter, mask)
};

/// Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True), the default from 2.0 on):
/// the next backward pass writes fresh gradients instead of adding to zeroed ones (no memset, no add).
void clear_grads(torch::nn::Module& module);

struct Shape {
  std::int64_t channels, height, width, classes;
};

/// The architectures `build_model` knows, as the catalog names them.
const std::vector<std::string>& architectures();

/// Builds the architecture of a `model` stage, initialised from `seed`.
Net build_model(const lang::StageInstance& model_stage, const Shape& shape, std::uint64_t seed);

/// Runs one image through the net with profiling on and fills total_macs and layer_macs.
/// Throws StageError when the input shape does not fit the architecture.
void profile(NetImpl& net, const Shape& shape);

void save_net(const Net& net, const std::string& path);
/// Loads parameters, buffers and masks saved by save_net into a net of the same architecture.
void load_net(Net& net, const std::string& path);

std::int64_t count_params(const Net& net);
std::int64_t count_nonzero_prunable(const Net& net, std::int64_t& prunable_total);

}  // namespace whittle::runtime::torchrt
