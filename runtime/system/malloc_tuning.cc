#include "runtime/system/malloc_tuning.h"

#include <malloc.h>

#include <climits>

namespace whittle::runtime {

void keep_large_buffers() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
}

}  // namespace whittle::runtime
