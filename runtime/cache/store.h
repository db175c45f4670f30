// The artifact store: a content-addressed folder of stage results (docs/architecture.md decision 7).
//   <root>/VERSION                   "whittle-cache 2"
//   <root>/objects/<k2>/<key>/       one finished entry: the stage's files and manifest.yaml
//   <root>/tmp/                      entries being written; renamed into objects/ when complete
//   <root>/partial/<key>/            epoch checkpoints of a stage in progress (resume after a kill)
//   <root>/locks/<key>.lock          flock: one writer per entry
//   <root>/locks/cache.lock          flock: shared by every run using the cache, exclusive for gc
//   <root>/corrupt/                  entries that failed verification, moved aside
// An entry appears in objects/ only by rename, after every file and the manifest (with checksums)
// are written and synced, so a killed or failing run never leaves a half entry where a reader looks.
// A manifest ends with the SHA-256 of everything before it, so an edited or damaged one is found.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace whittle::runtime {

/// Removes a folder and everything in it, ignoring errors (std::filesystem::remove_all's job, done
/// with POSIX nftw: the CUDA LibTorch 2.x shared library exports its own copy of remove_all, which
/// the dynamic linker binds whittle's calls to, and that copy calls through a null pointer).
void remove_tree(const std::string& path) noexcept;

/// The file in which a model stage's entry holds its model: a safetensors file (safetensors.h).
inline constexpr const char* kModelFile = "model.safetensors";

constexpr int kManifestFormat = 2;  ///< 2: the manifest carries its own checksum
constexpr int kCacheFormat =
    3;  ///< VERSION; 2: manifests with checksums, data keyed by content; 3: tensors as safetensors

/// The cache format `whittle cache upgrade` converts from (cache_upgrade.h).
constexpr int kUpgradableCacheFormat = 2;

/// Thrown when a folder cannot be used as a cache (another version, a damaged layout).
struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct EntryFile {
  std::string name;
  std::uint64_t size = 0;
  std::string sha256;
};

struct Manifest {
  int format = kManifestFormat;
  std::string key;
  std::string kind;
  std::string label;  ///< e.g. "#3 prune at quickstart.recipe:12"
  std::vector<EntryFile> files;
  std::map<std::string, double> metrics;
  double seconds = 0;
  std::string device;  ///< where the stage computed it: cpu, cuda (empty in entries of before 0.1)
  std::string created;
  std::string whittle_version;
};

class ArtifactStore {
 public:
  /// Opens (creating if needed) a store at `root`. Throws StoreError on a foreign, damaged or
  /// other-version folder, with what to do.
  explicit ArtifactStore(std::string root);
  const std::string& root() const { return root_; }

  std::string entry_dir(const std::string& key) const;
  /// The manifest of a finished entry, read without verifying checksums (what `plan` does).
  std::optional<Manifest> manifest(const std::string& key) const;
  /// Whether a finished entry exists. An entry appears only by rename after its manifest is written,
  /// so the manifest's presence is enough; its contents are checked when the entry is loaded.
  bool has(const std::string& key) const;

  /// Verifies an entry's files against its manifest; on failure `why` says what is wrong.
  bool verify(const std::string& key, std::string& why) const;
  /// Every folder under objects/ that is not a good entry (no manifest, a damaged, edited or
  /// other-format one, one of another key, a file that fails its checksum), with why; and the
  /// number of folders looked at.
  struct Problem {
    std::string folder, label, why;
  };
  std::vector<Problem> audit(std::size_t& entries) const;
  /// Moves a corrupt entry out of objects/ so that it is recomputed (kept in corrupt/ for inspection).
  void quarantine(const std::string& key);

  /// A fresh temporary folder in which to write an entry's files.
  std::string make_temp_dir(const std::string& key);
  /// Checksums every file of `tmp_dir`, writes the manifest, syncs, and renames the folder into place.
  /// If a complete entry already exists (another run finished first), the temporary folder is dropped.
  Manifest commit(const std::string& tmp_dir, Manifest m);

  /// Puts a folder holding a complete entry of `key` (its files and manifest, verified by the caller)
  /// into objects/ by rename. False, and the folder dropped, when the entry is there already.
  bool install(const std::string& tmp_dir, const std::string& key);
  /// Puts a folder of epoch checkpoints in place as `key`'s, where the stage has neither an entry
  /// nor checkpoints of its own; false (the folder left to the caller) otherwise. Hold lock(key).
  bool install_partial(const std::string& tmp_dir, const std::string& key);

  /// The folder for a stage's in-progress epoch checkpoints (created).
  std::string partial_dir(const std::string& key);
  /// The same folder, not created; it may not exist.
  std::string partial_path(const std::string& key) const;
  void drop_partial(const std::string& key);

  /// An exclusive lock on one key, released when destroyed.
  class Lock {
   public:
    Lock() = default;
    explicit Lock(int fd) : fd_(fd) {}
    Lock(Lock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Lock& operator=(Lock&& o) noexcept;
    ~Lock();
    bool held() const { return fd_ >= 0; }

   private:
    int fd_ = -1;
  };
  /// Takes the lock of `key`; if another process holds it, calls `on_wait` once, then waits.
  Lock lock(const std::string& key, const std::function<void()>& on_wait);
  /// The same without waiting: an invalid Lock when another process holds it.
  Lock try_lock(const std::string& key);

  /// Held by every run for as long as it uses the cache (shared), and by gc (exclusive): gc never
  /// removes what a running run has just written. `exclusive` does not wait: an invalid Lock
  /// (`held()` false) means a run is using the cache.
  Lock use_lock(bool exclusive) const;

  std::vector<Manifest> list() const;
  /// Removes the entries whose keys are not in `keep`, the epoch checkpoints of stages not in
  /// `keep`, and the leftovers of killed runs; returns how many entries and how many bytes. Call it
  /// holding use_lock(true): then no run is writing.
  std::pair<std::size_t, std::uint64_t> gc(const std::vector<std::string>& keep);

 private:
  /// Opens a folder or file of the store to its group: read (and search) always, write too when the
  /// cache's root is group-writable (a cache shared by a group: docs/slurm.md).
  void share(const std::string& path) const;
  /// The open lock file of `key` (not locked yet).
  int open_lock(const std::string& key) const;
  std::string root_;
  bool shared_ = false;
};

/// Verifies the entry of `key` in `dir`: its manifest (sealed, of this format, of this key) and every
/// file it names (size and SHA-256); on failure `why` says what is wrong.
bool verify_entry_dir(const std::string& dir, const std::string& key, std::string& why);

/// Every regular file of a folder of the cache but a manifest, by name, with its size and SHA-256
/// (what a manifest or a pack's list names). Throws StoreError when one cannot be read.
std::vector<EntryFile> folder_files(const std::string& dir);

/// Moves a folder of the cache at `root` into its corrupt/ (kept for inspection; removed if it
/// cannot be moved), so that what it held is recomputed.
void move_to_corrupt(const std::string& root, const std::string& dir);

/// Writes a manifest file (sealed with its checksum), atomically.
void write_manifest(const std::string& path, const Manifest& m);

/// Reads a manifest file; nullopt when missing, malformed, of another format, or failing its checksum
/// (then `why`, if given, says which).
std::optional<Manifest> read_manifest(const std::string& path, std::string* why = nullptr);

}  // namespace whittle::runtime
