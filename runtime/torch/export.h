// `export`: the model as Python sees it, written with torch::pickle_save (readable by torch.load).
#pragma once
#include <vector>

#include "lang/checked.h"
#include "runtime/torch/data.h"
#include "runtime/torch/models.h"

namespace whittle::runtime::torchrt {

/// A dict with the architecture and its knobs (from the chain's `model` stage), the input shape and
/// normalisation, the layers' channel counts (a slimmed model's own), how each layer was quantized,
/// and a state dict under kuangliu's names holding the weights the layers compute with (quantized
/// values in float32, pruned weights zero), pickled.
std::vector<char> export_bytes(const Net& net, const lang::StageInstance& model_stage, const Dataset& data);

}  // namespace whittle::runtime::torchrt
