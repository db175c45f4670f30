// Loading the LibTorch module (torch/api.h).
#include "runtime/torch/api.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>

#include "runtime/system/malloc_tuning.h"

#ifndef WHITTLE_LIBTORCH_VERSION
#define WHITTLE_LIBTORCH_VERSION "none"
#endif
#ifndef WHITTLE_VERSION
#define WHITTLE_VERSION "0"
#endif

namespace whittle::runtime {
namespace {

constexpr const char* kModuleName = "libwhittle_torch.so";
const TorchApi* g_api = nullptr;

std::string module_path() {
  if (const char* env = std::getenv("WHITTLE_TORCH_MODULE"); env && *env) return env;
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return kModuleName;  // the loader's search path
  for (const auto& dir : {self.parent_path(), self.parent_path().parent_path() / "lib" / "whittle"})
    if (std::filesystem::exists(dir / kModuleName, ec)) return (dir / kModuleName).string();
  return (self.parent_path() / kModuleName).string();
}

const TorchApi* load() {
#ifndef WHITTLE_WITH_TORCH
  throw std::runtime_error(
      "this build of whittle has no LibTorch (configured with -DWHITTLE_WITH_TORCH=OFF): it checks, "
      "lints and plans recipes, and cannot run, preview or inspect models; configure with LibTorch "
      "(the default) to run them");
#endif
  const std::string path = module_path();
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    throw std::runtime_error(
        fmt::format("cannot load whittle's LibTorch module {}: {}; it is built beside the `whittle` "
                    "program (ninja -C build), or name it with WHITTLE_TORCH_MODULE",
                    path, ::dlerror()));
  using Entry = const TorchApi* (*)();
  auto entry = reinterpret_cast<Entry>(::dlsym(handle, "whittle_torch_api"));
  const TorchApi* api = entry ? entry() : nullptr;
  if (!api || api->api_version != kTorchApiVersion || std::string(api->whittle_version) != WHITTLE_VERSION)
    throw std::runtime_error(fmt::format(
        "{} is from another build of whittle (interface {}, version {}; this program: {}, {}): "
        "rebuild both (ninja -C build)",
        path, api ? api->api_version : 0, api ? api->whittle_version : "?", kTorchApiVersion, WHITTLE_VERSION));
  // Whatever loads LibTorch works on tensors (a run, a preview, a report, a verify).
  keep_large_buffers();
  return api;  // the module stays loaded until the process ends
}

class LazyRunner : public StageRunner {
 public:
  explicit LazyRunner(int threads) : threads_(threads) {}
  void run(StageJob& job) override {
    if (!runner_) {
      try {
        runner_ = torch_api().make_runner(threads_);
      } catch (const std::runtime_error& e) {
        throw StageError(e.what());
      }
    }
    runner_->run(job);
  }

 private:
  int threads_;
  std::unique_ptr<StageRunner> runner_;
};

}  // namespace

const TorchApi& torch_api() {
  static std::once_flag once;
  std::call_once(once, [] { g_api = load(); });
  return *g_api;
}

bool torch_loaded() { return g_api != nullptr; }

std::unique_ptr<StageRunner> lazy_torch_runner(int threads) { return std::make_unique<LazyRunner>(threads); }

std::string libtorch_version() { return WHITTLE_LIBTORCH_VERSION; }

}  // namespace whittle::runtime
