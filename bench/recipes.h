// The recipes the language benchmarks time (lint_bench, lsp_bench).
#pragma once
#include <fmt/format.h>

#include <string>

namespace whittle::bench {

/// About 200 lines in the style of the course pipelines: comments, lets, a network, repeats,
/// sweeps, defines.
inline std::string recipe_200() {
  std::string r =
      "# A long experiment file: several pipelines side by side.\nrecipe long_experiment\nuse "
      "\"std/rewinding.recipe\"\n\n"
      "let sgd = sgd(lr: 0.1, momentum: 0.9, weight_decay: 5e-4)\nlet rounds = 3\n\n"
      "# A network written in the recipe: DenseNet-B without its fourth block.\n"
      "network densenet_b3(growth: int = 8) {\n"
      "  conv 2 * $growth channels\n"
      "  dense 6 { bn -> relu -> conv 4 * $growth channels kernel: 1 -> bn -> relu -> conv $growth channels }\n"
      "  bn -> relu -> conv 50% kernel: 1 -> avgpool\n"
      "  dense 10 { bn -> relu -> conv 4 * $growth channels kernel: 1 -> bn -> relu -> conv $growth channels }\n"
      "  bn -> relu -> conv 50% kernel: 1 -> avgpool\n"
      "  dense 20 { bn -> relu -> conv 4 * $growth channels kernel: 1 -> bn -> relu -> conv $growth channels }\n"
      "  bn -> relu -> conv 204 channels kernel: 1 -> avgpool\n"
      "  bn -> relu -> avgpool global -> linear\n"
      "}\n"
      "data cifar10\nmodel densenet_b3 growth: 6\ntrain 60 epochs optimizer: $sgd\nevaluate\n\n";
  int lines = 23;
  for (int block = 0; lines < 200; ++block) {
    r += fmt::format(
        "# Block {0}: train, prune with rewinding, quantize, evaluate.\n"
        "data cifar10 augment: [crop(pad: 4), flip, cutout(size: 16)]\n"
        "model resnet18 width: {1}\n"
        "train 60 epochs optimizer: $sgd schedule: step(at: [30, 45], gamma: 0.1) batch: 128\n"
        "evaluate metrics: [accuracy, loss]\n"
        "repeat $rounds {{\n"
        "  prune 20% global l1\n"
        "  retrain 15 epochs rewind: lr\n"
        "}}\n"
        "lr_rewinding rounds: 2 amount: 10% epochs: 10 epochs\n"
        "sweep amount in 0%..50% by 10% {{ prune $amount global l1 -> evaluate }}  # whittle: "
        "allow(prune_without_retrain)\n"
        "quantize 8 bits activations: 8 bits\n"
        "retrain 5 epochs\n"
        "evaluate latency: cpu\n"
        "score course2025\n\n",
        block, 16 << (block % 3));
    lines += 16;
  }
  return r;
}

}  // namespace whittle::bench
