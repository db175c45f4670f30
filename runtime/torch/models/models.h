// Architectures (kuangliu/pytorch-cifar conventions) behind one interface, built from a `model`
// stage's parameters and the data set's shape; and their checkpoints (parameters, buffers, masks).
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lang/checked.h"
#include "runtime/torch/data/data.h"

namespace whittle::runtime {
struct Plan;
}

namespace whittle::runtime::torchrt {

/// Output channels of one conv (or linear) that can be removed together with everything that
/// reads them: structured pruning ranks the producers' filters, physical pruning slices them all.
/// Channels tied by a residual addition or a concatenation are in no group.
struct ChannelGroup {
  std::string producer;                ///< the layer whose filters are ranked
  std::vector<std::string> norms;      ///< BatchNorms over those channels
  std::vector<std::string> through;    ///< depthwise convs that carry them one to one
  std::vector<std::string> consumers;  ///< layers that read them (their input dimension is sliced)
  std::int64_t spatial = 1;            ///< a linear consumer reads them flattened with this many positions each
};

struct NetImpl : torch::nn::Module {
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  /// Multiply-accumulates of the conv and linear layers for one input image (docs/course.md's f),
  /// measured by profile().
  std::int64_t macs() const { return total_macs; }
  std::int64_t total_macs = 0;
  std::map<std::string, std::int64_t> layer_macs;             ///< by module name ("layer1.0.conv1")
  std::int64_t in_channels = 0, in_height = 0, in_width = 0;  ///< the input profile() measured with
  std::vector<ChannelGroup> channel_groups;                   ///< declared by the architecture
};

struct WeightLayer;
/// A conv or linear layer of a net, by module name.
struct LayerRef {
  std::string name;
  torch::nn::Module* module;
  WeightLayer* layer;
  torch::Tensor weight;  ///< the stored (latent) weight
};

struct Net {
  std::shared_ptr<NetImpl> module;
  /// Pruning masks by parameter name (1 keeps, 0 removes); re-applied after every optimizer step.
  std::map<std::string, torch::Tensor> masks;
  /// True after `quantize 16 bits float` on every layer: the whole model is half precision.
  bool half = false;
  /// After `convert`: the int8 plan (int8.h) as JSON; its convs run int8 kernels. Empty otherwise.
  std::string int8;
  /// After every optimizer step: multiplies the masked parameters by their masks and keeps latent
  /// weights where their quantizer needs them. Cheap when there is nothing to do; the pairs are
  /// looked up once (call masks_changed() after editing `masks` or quantizers).
  void apply_masks();
  void masks_changed() { looked_up_ = false; }
  /// Moves the parameters, buffers and masks to `device`; 4-d weights to channels-last if asked.
  void to(torch::Device device, bool channels_last);
  /// Conv and linear weights, in registration order: what pruning ranks.
  std::vector<std::pair<std::string, torch::Tensor>> prunable() const;
  /// Conv and linear layers, in registration order.
  std::vector<LayerRef> layers() const;
  /// The weight a layer computes with (its quantizer's, else the stored one), without gradient.
  static torch::Tensor effective_weight(const LayerRef& l);

 private:
  std::vector<std::pair<torch::Tensor, torch::Tensor>> masked_;  ///< (parameter, mask)
  std::vector<std::pair<torch::Tensor, WeightLayer*>> constrained_;
  bool looked_up_ = false;
};

/// Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True), the default from 2.0 on):
/// the next backward pass writes fresh gradients instead of adding to zeroed ones (no memset, no add).
void clear_grads(torch::nn::Module& module);

/// Builds the architecture of a `model` stage, initialised from `seed`.
Net build_model(const lang::StageInstance& model_stage, const Shape& shape, std::uint64_t seed);

/// Runs one image through the net with profiling on and fills total_macs and layer_macs.
/// Throws StageError when the input shape does not fit the architecture.
void profile(NetImpl& net, const Shape& shape);

/// After layers were sliced (physical pruning): brings the layers' options (channel counts, the
/// groups of a depthwise conv) in line with their tensors.
void sync_options(NetImpl& net);

std::int64_t count_params(const Net& net);
std::int64_t count_nonzero_prunable(const Net& net, std::int64_t& prunable_total);

}  // namespace whittle::runtime::torchrt
