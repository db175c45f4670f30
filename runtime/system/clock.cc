// The time as whittle writes it (clock.h).
#include "runtime/system/clock.h"

#include <ctime>

namespace whittle::runtime {

std::string now_iso() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace whittle::runtime
