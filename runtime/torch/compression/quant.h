// Quantization (docs/compression.md, "Quantization"): simulated by fake quantization in the layers, with a
// straight-through gradient so that a later retrain is quantization-aware.
//
// - uniform: weights symmetric per output channel (or per tensor), 2^(b-1)-1 levels each side;
// - float: half precision, weights and activations (the values are rounded to fp16; CPU kernels compute in fp32);
// - kmeans: Deep Compression weight sharing, 2^b centroids per layer, linear init, centroids
//   trained with the summed gradients of the weights that share them;
// - apot: additive powers of two (Li et al. 2020), signed, with a learned clipping level per layer;
// - binary: BinaryConnect, deterministic or stochastic, latent weights clipped to [-1, 1], one
//   fixed scale per layer (mean |w| at quantization time).
// Activations, when asked (`activations: A bits`), are quantized per tensor, affine, at each
// quantized layer's input, with ranges calibrated on training batches and then tracked by a moving
// average while retraining (PyTorch's QAT default). The range of a batch is its min and max
// (`range: minmax`), or that range shrunk to the clipping that quantizes the batch with the least
// squared error (`range: mse`, what few-bit activations need: outliers otherwise stretch the steps).
#pragma once
#include <torch/torch.h>
#include <nlohmann/json_fwd.hpp>

#include <map>
#include <string>

#include "lang/checked.h"
#include "runtime/torch/models/layers.h"
#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

struct QuantSpec {
  std::string method;  ///< uniform, float, kmeans, apot, binary
  int bits = 32;       ///< weights
  int abits = 32;      ///< activations; 32: left in float
  bool per_channel = true;
  bool stochastic = false;
  std::string range = "minmax";  ///< activation range per batch: minmax, mse
};
void to_json(nlohmann::json& j, const QuantSpec& s);
void from_json(const nlohmann::json& j, QuantSpec& s);

/// The spec of a `quantize` stage, checked: StageError with help for what cannot be quantized.
QuantSpec quant_spec(const lang::StageInstance& quantize_stage);

/// Lloyd's iterations of a k-means fit at most. The preview fits none: its figures (zeros, bit
/// widths) do not depend on where the centroids settle.
constexpr int kKMeansIterations = 100;

/// Puts the quantizers of a `quantize` stage on the layers it chooses (`layers:`; the first and the
/// last of them at `first_last:` bits when given), without calibrating activations; returns how
/// many layers it quantized.
int quantize_net(Net& net, const lang::StageInstance& quantize_stage, int kmeans_iterations = kKMeansIterations);

/// While activation ranges are being calibrated: quantizers observe their inputs, pass them through.
using Calibrating = ThreadMode<struct CalibratingTag>;

/// Puts a quantizer of `spec` on a layer; its initial state (scales, codebook, clipping level) comes
/// from the layer's weight. A layer that already had one computes from its quantized weight first.
/// `layer` is a Conv or Linear; `initialise` is false when a checkpoint's state will be loaded into it.
void quantize_layer(torch::nn::Module& layer, const QuantSpec& spec, bool initialise = true,
                    int kmeans_iterations = kKMeansIterations);

/// The layers a `quantize` stage quantizes, by index into the net's conv and linear layers (`conv[i]`:
/// layer i is a conv), each with its spec (`first_last:` bits on the first and last chosen).
std::vector<std::pair<std::size_t, QuantSpec>> quantized_layers(const std::vector<bool>& conv,
                                                                const lang::StageInstance& quantize_stage);

/// What uniform quantization computes with for the weight `w` (no gradient): symmetric, 2^(b-1) - 1
/// levels each side of zero, the scale from the largest magnitude per output channel or per tensor.
torch::Tensor uniform_weight(const torch::Tensor& w, int bits, bool per_channel);
/// The parameters a uniform quantizer of a layer with `out_channels` filters adds to the score's w.
std::int64_t uniform_quantizer_params(const QuantSpec& spec, std::int64_t out_channels);

/// The quantizer's spec (for saving and scoring).
const QuantSpec& spec_of(const LayerQuantizer& q);

/// Quantizer parameters a score counts as parameters: codebook entries, scales, clipping levels,
/// activation scale and zero point.
std::int64_t quantizer_params(const LayerQuantizer& q, const torch::Tensor& weight);

}  // namespace whittle::runtime::torchrt
