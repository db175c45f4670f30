// A network written in the recipe (`network NAME(PARAMS) { LAYERS }`), elaborated by the checker
// for one `model` line: every layer resolved, shaped and counted. Plain data; the runtime builds
// its modules from it (runtime/torch/models/network.cc) and the cache key includes its canonical text.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lang/source.h"

namespace whittle::lang::net {

/// What flows between layers: a C×H×W map, or (after a `linear`) a vector of C features.
struct Shape {
  int c = 0, h = 0, w = 0;
  bool flat = false;
  bool operator==(const Shape& o) const { return c == o.c && h == o.h && w == o.w && flat == o.flat; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  /// "64×32×32", or "10" for features.
  std::string text() const;
  std::int64_t size() const { return flat ? c : static_cast<std::int64_t>(c) * h * w; }
};

/// What a data set feeds a network: cifar10 3×32×32 and 10 classes, fashion_mnist 1×28×28 and 10,
/// synthetic 1×12×12 and 4 (the runtime's data sets, runtime/torch/data/data.cc).
struct Input {
  Shape shape;
  int classes = 0;
};
Input dataset_input(const std::string& dataset);

enum class Op { Sequential, Conv, BatchNorm, ReLU, MaxPool, AvgPool, Dropout, Linear, Residual, Dense, GELU, Whiten };
/// "conv", "bn", ..., as the recipe writes them ("sequential" for a block).
const char* op_name(Op op);

struct Layer {
  Op op = Op::Sequential;
  std::string name;    ///< the module's name in its parent: its index, or its `as` name
  bool named = false;  ///< written with `as`
  std::string block;   ///< Sequential: the `define`d block it expands, if any
  Span span;           ///< where it is written
  Shape in, out;
  // Conv and pools.
  int kernel_h = 0, kernel_w = 0, stride = 1, padding = 0, groups = 1;
  bool bias = false;                  ///< Conv, Linear, Whiten (always)
  double p = 0;                       ///< Dropout: the probability in [0, 1)
  bool dirac = false;                 ///< Conv: `init: dirac`, the first min(C_in, C) filters the identity
  double momentum = 0.1, eps = 1e-5;  ///< BatchNorm: PyTorch's running-statistics momentum and epsilon; Whiten: eps
  bool learn_scale = true;            ///< BatchNorm: false, the scale fixed at 1 (airbench)
  double scale = 1;                   ///< Linear: its outputs multiplied by this (airbench's 1/9)
  int bias_epochs = 0;                ///< Whiten: the epochs of a train its bias learns in
  int images = 0;                     ///< Whiten: the training images its patch covariance is taken over
  /// Sequential: its layers; Residual: `body` and `shortcut` (an empty Sequential: the identity);
  /// Dense: its N bodies, `0` to `N-1`.
  std::vector<Layer> children;
  std::int64_t params = 0;  ///< learnable values of this layer and everything inside it
  std::int64_t macs = 0;    ///< multiply-accumulates at batch 1, conv and linear only
};

/// The largest network whittle builds (lang/check_network.cc, E0410): 2 GB of float weights, 100×
/// ResNet18's MACs, and 1 GiB of float activations for one image.
inline constexpr double kMaxNetworkParams = 5e8, kMaxNetworkMacs = 5e10, kMaxNetworkActivations = 2.5e8;

struct Network {
  std::string name;  ///< as declared
  std::string args;  ///< the parameters it was built with: "growth: 8"
  Shape input;
  int classes = 0;
  Layer root;  ///< a Sequential: the top-level layers, named 0, 1, ...
  /// Every layer and its modules, for the cache key: a change to any shape, option or name changes it.
  std::string canonical() const;
};

/// One row per module, as torchsummary prints them: the module path ("3.0.2"), the layer, its
/// output shape, parameters and MACs; containers are rows too, their counts their children's sum.
struct TableRow {
  std::string path;
  std::string layer;  ///< "conv 3x3 16→32 /2", "bn", "residual", ...
  Shape out;
  std::int64_t params = 0, macs = 0;
  int depth = 0;
  Span span;
};
std::vector<TableRow> table_rows(const Network& n);
/// The table as text, with a header and the totals.
std::string layer_table(const Network& n);
/// The table as JSON: {"network", "input", "layers": [{path, layer, output, params, macs}], "params", "macs"}.
std::string layer_table_json(const Network& n);

}  // namespace whittle::lang::net
