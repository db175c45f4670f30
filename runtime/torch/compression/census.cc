// A model's census (census.h), read from its tensors.
#include "runtime/torch/compression/census.h"

#include <set>

#include "runtime/torch/compression/quant.h"
#include "runtime/torch/compression/score.h"
#include "runtime/torch/models/layers.h"

namespace whittle::runtime::torchrt {

double Census::quantizer_params() const {
  double n = 0;
  for (const auto& l : layers) n += l.quantizer_params;
  return n;
}

Census census(const Net& net) {
  Census c;
  std::set<std::string> layer_weights;
  for (const auto& l : net.layers()) {
    const torch::Tensor w = Net::effective_weight(l).to(torch::kCPU);
    LayerCensus t;
    t.conv = l.layer->kind() == LayerKind::Conv;
    t.n = static_cast<double>(w.numel());
    const torch::Tensor zero_per_row = w.eq(0).flatten(1).sum(1);
    t.zeros = static_cast<double>(zero_per_row.sum().item<std::int64_t>());
    const auto row = w.numel() / std::max<std::int64_t>(w.size(0), 1);
    t.structured = static_cast<double>(zero_per_row.eq(row).sum().item<std::int64_t>() * row);
    t.raw_zeros = static_cast<double>(l.weight.eq(0).sum().item<std::int64_t>());
    if (const auto mask = net.masks.find(l.name + ".weight"); mask != net.masks.end()) {
      t.masked = true;
      t.masked_zeros = static_cast<double>(mask->second.eq(0).sum().item<std::int64_t>());
    }
    t.wbits = weight_bits(net, l);
    t.abits = activation_bits(net, l);
    if (l.layer->quant) t.quantizer_params = static_cast<double>(quantizer_params(*l.layer->quant, l.weight));
    const auto* counted = dynamic_cast<const CountedLayer*>(l.module);
    t.macs = static_cast<double>(counted->macs);
    t.out_elems = static_cast<double>(counted->out_elems);
    if (const auto* conv = dynamic_cast<const ConvImpl*>(l.module)) {
      t.groups = static_cast<double>(conv->options.groups());
      t.conv_k = static_cast<double>(conv->weight.size(1) * conv->weight.size(2) * conv->weight.size(3)) * t.groups;
      t.bias = conv->bias.defined();
    } else if (const auto* lin = dynamic_cast<const LinearImpl*>(l.module)) {
      t.in_features = static_cast<double>(lin->weight.size(1));
      t.bias = lin->bias.defined();
    }
    c.layers.push_back(t);
    layer_weights.insert(l.name + ".weight");
  }
  for (const auto& p : net.module->named_parameters()) {
    c.params += static_cast<double>(p.value().numel());
    c.raw_zeros_all += static_cast<double>(p.value().eq(0).sum().item<std::int64_t>());
    const std::string& k = p.key();
    if (layer_weights.count(k) || k.find(".q.") != std::string::npos || k.rfind("q.", 0) == 0) continue;
    c.others.push_back(static_cast<double>(p.value().numel()));
  }
  for (const auto& m : net.module->modules(false)) {
    const auto* cl = dynamic_cast<const CountedLayer*>(m.get());
    if (!cl) continue;
    if (cl->kind() == LayerKind::BatchNorm) c.other_ops_2021 += 3.0 * static_cast<double>(cl->in_elems);
    if (cl->kind() == LayerKind::ReLU || cl->kind() == LayerKind::GELU)
      c.other_ops_2021 += static_cast<double>(cl->in_elems);
    if (const auto* pool = dynamic_cast<const AvgPoolImpl*>(m.get())) {
      const auto& k = *pool->options.kernel_size();
      c.other_ops_2021 += static_cast<double>(cl->out_elems) * static_cast<double>(k[0] * k[1]);
    }
  }
  c.macs = static_cast<double>(net.module->macs());
  c.half = net.half;
  c.in_channels = net.module->in_channels;
  c.in_height = net.module->in_height;
  c.in_width = net.module->in_width;
  return c;
}

}  // namespace whittle::runtime::torchrt
