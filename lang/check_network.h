// What the two halves of the checker's networks share (check_network.cc: a network and its blocks;
// check_network_layer.cc: one layer): the state of an elaboration and two small pieces of arithmetic.
// Internal to lang/.
#pragma once
#include <string>
#include <vector>

#include "lang/checker.h"

namespace whittle::lang {

/// State of one network's elaboration.
struct Checker::NetContext {
  int classes = 0;
  Span model;  ///< the `model` line, labelled on every error
  bool linear_seen = false;
  Span last_linear_span;
  bool failed = false;             ///< an error was reported and elaboration went on past it
  int layers = 0;                  ///< layers elaborated so far (a `whiten` must be the first)
  std::vector<std::string> calls;  ///< `define`d blocks being expanded, to refuse recursion
};

/// Layers in order as one `nn.Sequential` (a block that is one call of a `define`d block is that block).
net::Layer sequential(std::vector<net::Layer> children, net::Shape in, Span span);
/// Output size of a window of `k` at stride `s` with padding `p` over `n`; < 1 when it does not fit.
int window_out(int n, int k, int s, int p);

}  // namespace whittle::lang
