// Running other programs (gnuplot, sbatch, squeue, scontrol) through the shell.
#pragma once
#include <string>

namespace whittle::runtime {

/// A word for the shell: single-quoted, so that nothing in it is expanded.
std::string shell_quote(const std::string& s);

struct CommandResult {
  int code = -1;    ///< the exit status; -1 when it could not be started or was killed
  std::string out;  ///< standard output (standard error too when the command says `2>&1`)
};
/// Runs `command` with /bin/sh and waits for it.
CommandResult run_command(const std::string& command);

}  // namespace whittle::runtime
