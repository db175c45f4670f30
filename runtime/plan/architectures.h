// The built-in architectures as data: what each is and its size on CIFAR-10 (3x32x32, 10 classes)
// at its own defaults. Which `model` knobs shape each is the catalog's (`only_for` in
// stdlib/stages.yaml): the checker refuses another at its line, the model builder too. `whittle doc
// ARCH` prints it without loading LibTorch; a test builds every one and checks the counts here, so
// they cannot go stale.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace whittle::runtime {

struct ArchitectureDoc {
  const char* name;
  const char* doc;
  std::int64_t cifar_params = 0;  ///< learnable parameters on CIFAR-10 at its defaults
  std::int64_t cifar_macs = 0;    ///< conv and linear multiply-accumulates for one image
};

/// Every architecture, in the catalog's order.
const std::vector<ArchitectureDoc>& architectures();
/// The architecture named so, or nullptr.
const ArchitectureDoc* architecture(const std::string& name);
/// The `model` parameters that shape `arch`, in the catalog's order (`classes` among them).
std::vector<std::string> knobs_of(const std::string& arch);
/// Whether `knob` shapes `arch`, as the catalog says.
bool knob_applies(const std::string& arch, const std::string& knob);

/// A score preset for people: when the course used it, its formula, how whittle counts it.
struct ScorePresetDoc {
  const char* name;
  const char* period;
  const char* formula;
  std::vector<const char*> counting;
};
const std::vector<ScorePresetDoc>& score_preset_docs();
const ScorePresetDoc* score_preset_doc(const std::string& name);

}  // namespace whittle::runtime
