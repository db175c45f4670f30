// The training allocator (allocator.h).
#include "runtime/cli/allocator.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

#include "runtime/system/malloc_tuning.h"

namespace whittle::cli {

void use_training_allocator(int argc, char** argv) {
  if (argc < 2 || (std::strcmp(argv[1], "run") != 0 && std::strcmp(argv[1], "run-stage") != 0)) return;
  const char* chosen = std::getenv("WHITTLE_ALLOCATOR");
  if (chosen && std::strcmp(chosen, "tcmalloc") == 0) {
    // The re-executed process: tcmalloc is in; the programs it starts (gnuplot, sbatch) get the
    // environment the user gave.
    const char* was = std::getenv("WHITTLE_PRELOAD_WAS");
    if (was && *was)
      setenv("LD_PRELOAD", was, 1);
    else
      unsetenv("LD_PRELOAD");
    unsetenv("WHITTLE_PRELOAD_WAS");
    return;
  }
#ifdef WHITTLE_TCMALLOC_PATH
  if (!chosen && ::access(WHITTLE_TCMALLOC_PATH, R_OK) == 0) {
    const char* was = std::getenv("LD_PRELOAD");
    const std::string preload = std::string(WHITTLE_TCMALLOC_PATH) + (was && *was ? std::string(":") + was : "");
    setenv("WHITTLE_PRELOAD_WAS", was ? was : "", 1);
    setenv("WHITTLE_ALLOCATOR", "tcmalloc", 1);
    setenv("LD_PRELOAD", preload.c_str(), 1);
    ::execv("/proc/self/exe", argv);
    // Not re-executed (no /proc): glibc malloc, tuned, in this process.
    unsetenv("WHITTLE_ALLOCATOR");
    if (was)
      setenv("LD_PRELOAD", was, 1);
    else
      unsetenv("LD_PRELOAD");
  }
#endif
  runtime::keep_large_buffers();
}

}  // namespace whittle::cli
