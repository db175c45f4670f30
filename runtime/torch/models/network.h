// A network written in the recipe (lang/network.h), built as a runnable model.
#pragma once
#include <memory>

#include "lang/network.h"
#include "runtime/torch/models/models.h"

namespace whittle::runtime::torchrt {

/// A freshly initialised module tree for the network (LibTorch's default initialisation, seeded by
/// the caller), with the channel groups structured pruning may remove.
std::shared_ptr<NetImpl> make_network(const lang::net::Network& n);

}  // namespace whittle::runtime::torchrt
