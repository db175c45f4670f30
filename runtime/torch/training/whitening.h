// Patch whitening (airbench), the weights of a network's `whiten` layer: computed from the training
// images when the model is built, then frozen. The eigenvectors of the covariance of every k×k patch,
// each divided by √(eigenvalue + eps), largest eigenvalue first, then the same filters negated: the
// layer's outputs are the patches in a basis where they are uncorrelated with unit variance.
#pragma once
#include <torch/torch.h>

#include "runtime/torch/data/data.h"
#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

/// The covariance (float64, [C·k², C·k²]) of the k×k patches (stride 1, no padding) of `images`
/// ([N, C, H, W]), each patch flattened in a conv weight's (c, h, w) order; about the origin, as
/// airbench takes it (the images are normalised).
torch::Tensor patch_covariance(const torch::Tensor& images, int k);

/// The whitening filters for that covariance: [2·C·k², C, k, k], float.
torch::Tensor whitening_filters(const torch::Tensor& covariance, int channels, int k, double eps);

/// Fills every `whiten` layer of `net` from the first `images` training images of `data` (its bias
/// zero). Returns how many layers it filled.
int init_whitening(Net& net, const Dataset& data);

}  // namespace whittle::runtime::torchrt
