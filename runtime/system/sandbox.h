// Running a command whose work involves code someone else wrote (a submission's network scripted in
// PyTorch) under bubblewrap (Debian's `bubblewrap`): new namespaces for everything (no network, no
// other processes), a file system of the system's programs and libraries read-only, the folders named
// read-only, a fresh /tmp as the only writable place, and limits on wall time, CPU time and address
// space. Where bubblewrap is missing or cannot make namespaces, sandbox_available() says so and
// nothing runs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace whittle::runtime {

struct SandboxSpec {
  std::vector<std::string> read_only;  ///< files and folders visible inside, at the same paths
  std::vector<std::pair<std::string, std::string>>
      mounts;  ///< a file or folder (first) visible read-only at another path (second)
  std::vector<std::pair<std::string, std::string>>
      env;                                        ///< the only environment inside (PATH, HOME and TMPDIR are set)
  int seconds = 600;                              ///< wall time, then the whole sandbox is killed
  std::uint64_t memory = std::uint64_t{8} << 30;  ///< address space of each process inside (RLIMIT_AS)
};

/// Whether a sandbox can be made here (bubblewrap is installed and may create namespaces: tried
/// once per process); otherwise `why` says what is missing.
bool sandbox_available(std::string& why);

struct SandboxResult {
  int exit_code = -1;  ///< the command's, when it ended by itself
  bool timed_out = false;
  int signal = 0;  ///< the signal that ended it, if one did (SIGKILL at the memory limit, say)
};

/// Runs `argv` in a sandbox made from `spec`, its output going to this process's stdout and stderr.
SandboxResult run_sandboxed(const SandboxSpec& spec, const std::vector<std::string>& argv);

}  // namespace whittle::runtime
