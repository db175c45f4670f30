// A model as a file and as a copy: its weights, masks, quantizers, precision and int8 plan saved,
// loaded back into its architecture, or copied in memory. The model vocabulary and its building are
// models/models.h; this is the part that must know every quantizer and the int8 plan.
#pragma once
#include <optional>
#include <string>

#include "runtime/plan/plan.h"
#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

void save_net(const Net& net, const std::string& path);
/// What save_net writes, as bytes.
std::string net_bytes(const Net& net);

/// The model stage `stage_id` produced, from its cache entry folder (its model.safetensors): its chain's
/// architecture, shaped for the chain's data set, with the stored weights, masks, quantizers and
/// int8 plan.
Net load_stage_model(const Plan& plan, int stage_id, const std::string& entry_dir);
/// A copy of `src`, a model of stage `stage_id`'s chain, in memory: what load_stage_model would
/// read back from a checkpoint of it, without the file. `reuse`, when given, is a net of the same
/// chain that is no longer needed: when its structure is src's (the same tensors of the same shapes,
/// quantizers, precision and int8 plan) src's state is copied into it instead of building a new one.
Net copy_net(const Plan& plan, int stage_id, const Net& src, std::optional<Net> reuse = std::nullopt);
/// Loads parameters, buffers, masks and quantizers saved by save_net into a net of the same
/// architecture; tensors of another shape (a physically slimmed model) replace the net's, and the
/// net is profiled again.
void load_net(Net& net, const std::string& path);

}  // namespace whittle::runtime::torchrt
