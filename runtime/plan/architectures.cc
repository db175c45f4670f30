#include "runtime/plan/architectures.h"

#include "lang/catalog.h"

namespace whittle::runtime {

const std::vector<ArchitectureDoc>& architectures() {
  // The counts are checked against the built models by tests/torch/test_models.cc.
  static const std::vector<ArchitectureDoc> archs = {
      {"resnet18", "ResNet18 for CIFAR (kuangliu): 3x3 stem, no max-pool, four stages of two BasicBlocks", 11173962,
       555422720},
      {"resnet34", "ResNet34 for CIFAR: four stages of 3, 4, 6 and 3 BasicBlocks", 21282122, 1159402496},
      {"preact_resnet18", "pre-activation ResNet18 (BN and ReLU before each convolution)", 11171146, 555422720},
      {"vgg11", "VGG11 with BatchNorm, CIFAR head (one linear layer)", 9231114, 152769536},
      {"vgg13", "VGG13 with BatchNorm, CIFAR head", 9416010, 228267008},
      {"vgg16", "VGG16 with BatchNorm, CIFAR head", 14728266, 313201664},
      {"vgg19", "VGG19 with BatchNorm, CIFAR head", 20040522, 398136320},
      {"densenet",
       "DenseNet-BC (bottleneck and compression) shaped by its knobs: growth k, layers per dense block, transition "
       "compression",
       1000618, 125341440},
      {"densenet_cifar", "kuangliu's densenet_cifar: DenseNet-BC with k = 12, blocks [6, 12, 24, 16], compression 0.5",
       1000618, 125341440},
      {"mobilenet", "MobileNet v1 for CIFAR (depthwise separable convolutions)", 3217226, 46354432},
      {"mobilenetv2", "MobileNetV2 for CIFAR (inverted residuals, stride 1 stem)", 2296922, 91154944},
      {"resnet20", "He et al.'s CIFAR ResNet20: three stages of three blocks, 16-32-64 channels", 269722, 40551040},
      {"resnet56", "He et al.'s CIFAR ResNet56: three stages of nine blocks", 853018, 125485696},
      {"resnet9", "the DAWNBench ResNet9 (Page; airbench's ancestor)", 6573120, 379261952},
      {"fastnet", "airbench's small fast network (three conv groups, max-pooling, scaled logits)", 298016, 26838272},
      {"lenet5", "LeNet-5 (two convolutions, three linear layers)", 62006, 651720},
      {"small_cnn", "a small two-convolution network for quick runs and Fashion-MNIST", 136922, 1753728},
  };
  return archs;
}

const ArchitectureDoc* architecture(const std::string& name) {
  for (const auto& a : architectures())
    if (name == a.name) return &a;
  return nullptr;
}

std::vector<std::string> knobs_of(const std::string& arch) {
  std::vector<std::string> out;
  for (const auto& p : lang::Catalog::builtin().stage("model")->params)
    if (p.only_for == "arch" && p.applies_for(arch)) out.push_back(p.name);
  return out;
}

bool knob_applies(const std::string& arch, const std::string& knob) {
  const lang::ParamDef* p = lang::Catalog::builtin().stage("model")->param(knob);
  return p && p->only_for == "arch" && p->applies_for(arch);
}

const std::vector<ScorePresetDoc>& score_preset_docs() {
  static const std::vector<ScorePresetDoc> presets = {
      {"course2025",
       "the course's current score (February 2025 on), and whittle's default",
       "[1 - (p_s + p_u)] * (q_w/32) * w / 5.6e6 + (1 - p_s) * (max(q_w, q_a)/32) * f / 2.8e8",
       {"w: every learnable parameter (BatchNorm and biases too), plus quantizer scales and codebooks",
        "f: conv and linear multiply-accumulates for one image at batch 1",
        "p_u: zero weights / w; p_s: weights in whole zero filters / w (zeros counted in the weights the model "
        "computes with)",
        "bits: layer by layer from each layer's quantizers; unquantized at 32 (16 after `quantize 16 bits float`)",
        "ResNet18 (11,173,962 parameters, 555,422,720 MACs) at 16/16 bits: 0.9977 + 0.9918 = 1.9895"}},
      {"course2024",
       "October 2024 to February 2025",
       "the course2025 formula with f / 8.3e8 in place of f / 2.8e8",
       {"counted as course2025"}},
      {"course2021",
       "2021 to October 2024: the reports of those years, with the course's profile.py",
       "ops / 834362880 + params / 5586981 * (1 - sparsity)",
       {"leaf modules only, at the model's precision (16 bits unless quantized), qf = 32 / bits",
        "conv: out_elems * [(k_h*k_w*C_in/qf + k_h*k_w*C_in - 1)/groups + bias]; linear: out_elems * (in/qf + in - 1 + "
        "bias)",
        "BatchNorm 3 ops per input element, a ReLU module 1, an AvgPool module out_elems*k^2; functional calls, "
        "additions and "
        "concatenations nothing",
        "convention: whittle (the default): each tensor at its own bits (BatchNorm and biases at 16, quantizer scales "
        "at 32)",
        "convention: profiler (`score course2021 convention: profiler`): one precision for the whole model, no "
        "quantizer scales "
        "and no linear bias op, as profile.py counts",
        "ResNet18 at 16 bits scores exactly 2.0"}},
      {"micronet2019",
       "the MicroNet challenge of NeurIPS 2019, CIFAR-100 track (WideResNet-28-10 as reference)",
       "storage / 36.5e6 + ops / 10.49e9",
       {"storage: every non-zero parameter at bits/32, quantizer scales and codebooks at 32 bits",
        "ops: per conv/linear MAC of a non-zero weight, one multiply at max(q_w, q_a)/32 and one add at 32 bits"}},
  };
  return presets;
}

const ScorePresetDoc* score_preset_doc(const std::string& name) {
  for (const auto& p : score_preset_docs())
    if (name == p.name) return &p;
  return nullptr;
}

}  // namespace whittle::runtime
