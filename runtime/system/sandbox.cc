// bubblewrap sandboxes (sandbox.h).
#include "runtime/system/sandbox.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

/// bwrap on PATH, or empty.
std::string find_bwrap() {
  const char* path = std::getenv("PATH");
  std::string dirs = path && *path ? path : "/usr/bin:/bin";
  for (std::size_t at = 0; at <= dirs.size();) {
    const std::size_t end = std::min(dirs.find(':', at), dirs.size());
    const fs::path p = fs::path(dirs.substr(at, end - at)) / "bwrap";
    if (::access(p.c_str(), X_OK) == 0) return p.string();
    at = end + 1;
  }
  return "";
}

/// The arguments of a sandbox around `argv`.
std::vector<std::string> bwrap_args(const std::string& bwrap, const SandboxSpec& spec,
                                    const std::vector<std::string>& argv) {
  std::vector<std::string> a = {
      bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv", "--ro-bind", "/usr", "/usr"};
  // The system's top folders that merged-/usr makes links into /usr stay links; any that is a real
  // folder is bound read-only as it is.
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    std::error_code ec;
    const auto st = fs::symlink_status(top, ec);
    if (ec || !fs::exists(st)) continue;
    if (fs::is_symlink(st))
      a.insert(a.end(), {"--symlink", fs::read_symlink(top, ec).string(), top});
    else
      a.insert(a.end(), {"--ro-bind", top, top});
  }
  // The dynamic linker's cache, and Debian's alternatives (libblas.so.3 is a link through them).
  for (const char* etc : {"/etc/ld.so.cache", "/etc/alternatives"})
    if (fs::exists(etc)) a.insert(a.end(), {"--ro-bind", etc, etc});
  a.insert(a.end(), {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"});
  for (const auto& p : spec.read_only) {
    std::error_code ec;
    const fs::path real = fs::canonical(p, ec);
    if (ec) continue;
    a.insert(a.end(), {"--ro-bind", real.string(), real.string()});
    if (fs::absolute(p, ec).lexically_normal() != real)
      a.insert(a.end(), {"--ro-bind", real.string(), fs::absolute(p, ec).lexically_normal().string()});
  }
  for (const auto& [from, to] : spec.mounts) a.insert(a.end(), {"--ro-bind", from, to});
  a.insert(a.end(), {"--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp"});
  for (const auto& [k, v] : spec.env) a.insert(a.end(), {"--setenv", k, v});
  a.insert(a.end(), {"--chdir", "/tmp", "--"});
  a.insert(a.end(), argv.begin(), argv.end());
  return a;
}

SandboxResult spawn(const std::vector<std::string>& args, const SandboxSpec& spec, bool quiet) {
  std::vector<char*> cargs;
  for (const auto& s : args) cargs.push_back(const_cast<char*>(s.c_str()));
  cargs.push_back(nullptr);
  SandboxResult r;
  const pid_t pid = ::fork();
  if (pid < 0) return r;
  if (pid == 0) {  // the child: its own process group (killed whole), the limits, then bwrap
    ::setpgid(0, 0);
    const rlimit as{spec.memory, spec.memory};
    ::setrlimit(RLIMIT_AS, &as);
    const rlimit cpu{static_cast<rlim_t>(spec.seconds), static_cast<rlim_t>(spec.seconds) + 5};
    ::setrlimit(RLIMIT_CPU, &cpu);
    if (quiet) {
      ::close(1);
      ::close(2);
    }
    ::execv(cargs[0], cargs.data());
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(spec.seconds);
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return r;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.timed_out = true;
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

}  // namespace

bool sandbox_available(std::string& why) {
  static const std::string cached = [] {
    const std::string bwrap = find_bwrap();
    if (bwrap.empty()) return std::string("bubblewrap is not installed (Debian: apt-get install bubblewrap)");
    SandboxSpec probe;
    probe.seconds = 20;
    const SandboxResult r = spawn(bwrap_args(bwrap, probe, {"/bin/sh", "-c", "exit 0"}), probe, true);
    if (r.exit_code != 0)
      return std::string(
          "bubblewrap cannot make a sandbox on this machine (it needs user namespaces, or to run as root)");
    return std::string();
  }();
  why = cached;
  return cached.empty();
}

SandboxResult run_sandboxed(const SandboxSpec& spec, const std::vector<std::string>& argv) {
  std::string why;
  if (!sandbox_available(why)) throw std::runtime_error(why);
  return spawn(bwrap_args(find_bwrap(), spec, argv), spec, false);
}

}  // namespace whittle::runtime
