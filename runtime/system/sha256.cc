// SHA-256 with OpenSSL.
#include "runtime/system/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <memory>

namespace whittle::runtime {
constexpr const char* kChecksumKey = "checksum: ";

struct Sha256::Ctx {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) { EVP_DigestInit_ex(ctx_->md.get(), EVP_sha256(), nullptr); }
Sha256::~Sha256() = default;
void Sha256::update(const void* p, std::size_t n) { EVP_DigestUpdate(ctx_->md.get(), p, n); }
std::string Sha256::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_->md.get(), md, &n);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 15];
  }
  return out;
}

std::string sealed(const std::string& body) { return body + kChecksumKey + sha256_hex(body) + "\n"; }

std::optional<std::string> unsealed(const std::string& text, std::string& why) {
  const auto at = text.rfind(std::string("\n") + kChecksumKey);
  if (at == std::string::npos) {
    why = "has no checksum (damaged, or written by another version of whittle)";
    return std::nullopt;
  }
  std::string body = text.substr(0, at + 1);
  if (text.substr(at + 1 + std::string(kChecksumKey).size()) != sha256_hex(body) + "\n") {
    why = "does not match its checksum: it was edited or damaged";
    return std::nullopt;
  }
  return body;
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.hex();
}

std::optional<std::string> sha256_file(const std::string& path) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return std::nullopt;
  Sha256 h;
  std::unique_ptr<char[]> buf(new char[1 << 20]);
  std::size_t n;
  while ((n = std::fread(buf.get(), 1, 1 << 20, f.get())) > 0) h.update(buf.get(), n);
  if (std::ferror(f.get())) return std::nullopt;
  return h.hex();
}

}  // namespace whittle::runtime
