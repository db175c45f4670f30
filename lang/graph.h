// compile: checked recipe → stage graph, a Boost.Graph DAG whose vertices are stage instances
// (`repeat` unrolled, `define` inlined, `sweep` fanned out) and whose edges are their inputs:
// the model a stage starts from, the data it reads, and other stages it refers to (a teacher).
#pragma once
#include <boost/graph/adjacency_list.hpp>
#include <string>
#include <vector>

#include "lang/checked.h"
#include "lang/source.h"

namespace whittle::lang {

enum class EdgeKind { Model, Data, Ref };
const char* edge_kind_name(EdgeKind k);

struct StageVertex {
  int stage = -1;  ///< index into CheckedRecipe::stages
};
struct StageEdge {
  EdgeKind kind = EdgeKind::Model;
};

using StageDag = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, StageVertex, StageEdge>;

struct StageGraph {
  const CheckedRecipe* recipe = nullptr;
  StageDag dag;
  /// Vertices in an order where every stage comes after its inputs.
  std::vector<int> order;
  /// The inputs of a stage, in a fixed order (model, data, then references in order).
  std::vector<std::pair<EdgeKind, int>> inputs(int stage) const;
};

StageGraph compile(const CheckedRecipe& recipe);

/// One line per stage: `#3 prune 20% global l1 <- model #2` (text), or Graphviz DOT.
std::string graph_text(const StageGraph& g, const SourceMap& sources);
std::string graph_dot(const StageGraph& g, const SourceMap& sources);

/// The stage's given (non-default) parameters, as a short summary: `20% global l1`.
std::string stage_summary(const StageInstance& s);

}  // namespace whittle::lang
