// Cold start: how long `whittle` takes where a person waits for it and no tensor is needed, side
// by side with the same program loading its LibTorch module, in one run. Targets: `whittle lint`
// of the quick start under 20 ms, a fully cached rerun of it under 100 ms (medians, wall clock).
//   build/bench/cold_start_bench [repetitions]
// The cached rerun uses the quick start on a 512-image subset of Fashion-MNIST (Debian's
// dataset-fashion-mnist, or $WHITTLE_DATA): the same code path as the full set, a first run of seconds.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

extern char** environ;

namespace {

/// One run of a command, its output to /dev/null: wall milliseconds, or -1 when it failed.
double run_ms(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = 0;
  int status = 0;
  const bool ok =
      posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) == 0 && waitpid(pid, &status, 0) == pid;
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  posix_spawn_file_actions_destroy(&fa);
  return ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ms : -1;
}

double median_ms(const std::vector<std::string>& args, int reps) {
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const double t = run_ms(args);
    if (t < 0) {
      std::string cmd;
      for (const auto& a : args) cmd += a + " ";
      std::fprintf(stderr, "failed: %s\n", cmd.c_str());
      std::exit(1);
    }
    ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 21;
  const std::string bin = WHITTLE_BIN, recipe = std::string(WHITTLE_SOURCE_DIR) + "/pipelines/quickstart.recipe";
  const std::string cache = (std::filesystem::temp_directory_path() / "whittle_cold_start_bench").string();
  std::filesystem::remove_all(cache);
  const std::vector<std::string> sets = {"--set", "subset=512", "--set", "test_subset=256"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), sets.begin(), sets.end());
    args.push_back(recipe);
    return args;
  };
  const auto run = with({bin, "run", "--threads", "1", "--cache", cache});
  if (run_ms(run) < 0) {
    std::fprintf(stderr,
                 "the first run of the quick start failed: is Fashion-MNIST installed (dataset-fashion-mnist) or "
                 "WHITTLE_DATA set?\n");
    return 1;
  }
  struct Row {
    const char* what;
    double ms, target;
  };
  std::vector<Row> rows = {
      {"process start (/bin/true), the floor", median_ms({"/bin/true"}, reps), 0},
      {"whittle --version", median_ms({bin, "--version"}, reps), 0},
      {"whittle lint quickstart.recipe", median_ms({bin, "lint", recipe}, reps), 20},
      {"whittle plan --no-preview (cached)", median_ms(with({bin, "plan", "--no-preview", "--cache", cache}), reps), 0},
      {"whittle run, every stage cached", median_ms(run, reps), 100},
      {"whittle plan with preview (loads LibTorch)", median_ms(with({bin, "plan", "--cache", cache}), reps), 0},
  };
  std::printf("%-46s %10s %10s %8s\n", "command", "median ms", "target ms", "ratio");
  for (const auto& r : rows) {
    if (r.target > 0)
      std::printf("%-46s %10.1f %10.0f %8.2f\n", r.what, r.ms, r.target, r.ms / r.target);
    else
      std::printf("%-46s %10.1f %10s %8s\n", r.what, r.ms, "-", "-");
  }
  std::printf("(%d repetitions each; the last row is what every command cost before the module: LibTorch's load)\n",
              reps);
  std::filesystem::remove_all(cache);
  return 0;
}
