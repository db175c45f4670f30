// glibc malloc for tensor work: large buffers stay mapped between uses instead of being returned to
// the system and faulted in again (docs/libtorch-notes.md, "Running": +16-24% in training at ~25%
// more peak memory; 28 s -> 20 s for the preview of pipelines/resnet18_prune_sweep.recipe, whose
// every 44 MB temporary was a fresh mmap). Harmless under tcmalloc.
#pragma once

namespace whittle::runtime {

void keep_large_buffers();

}  // namespace whittle::runtime
