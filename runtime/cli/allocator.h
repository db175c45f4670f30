// The allocator of the commands that train (docs/libtorch-notes.md, "Running").
#pragma once

namespace whittle::cli {

/// Called first thing in main. `whittle run` and `run-stage` train, and train best with tcmalloc
/// (as fast as tuned glibc malloc, 40% less memory); an allocator must be the process's from its
/// first allocation, and linking it would cost every other command 6-7 ms of start-up, so these two
/// commands re-execute the program once with tcmalloc preloaded. WHITTLE_ALLOCATOR=glibc opts out;
/// without tcmalloc, glibc malloc is tuned for training instead.
void use_training_allocator(int argc, char** argv);

}  // namespace whittle::cli
