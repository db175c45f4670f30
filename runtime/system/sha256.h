// SHA-256 through OpenSSL's EVP interface: of a string, of a file streamed from disk, or of bytes
// as they come; and text sealed with its own checksum (manifests, packs).
#pragma once
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace whittle::runtime {

/// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);
/// Lower-case hex SHA-256 of a file's bytes; nullopt if it cannot be read.
std::optional<std::string> sha256_file(const std::string& path);

/// SHA-256 of bytes fed in pieces.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, std::size_t n);
  std::string hex();  ///< lower-case hex; call once

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

/// `body` (ending in a newline) followed by `checksum: ` and the SHA-256 of `body`.
std::string sealed(const std::string& body);
/// The body of a sealed text; nullopt when it has no checksum line or does not match it (`why` says
/// which, as a predicate: "has no checksum ...", for "its manifest " + why).
std::optional<std::string> unsealed(const std::string& text, std::string& why);

}  // namespace whittle::runtime
