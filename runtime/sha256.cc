// SHA-256 with OpenSSL.
#include "runtime/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <memory>

namespace whittle::runtime {
namespace {

struct Hasher {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
  Hasher() { EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr); }
  void update(const void* p, std::size_t n) { EVP_DigestUpdate(ctx.get(), p, n); }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &n);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < n; ++i) {
      out += digits[md[i] >> 4];
      out += digits[md[i] & 15];
    }
    return out;
  }
};

}  // namespace

std::string sha256_hex(std::string_view data) {
  Hasher h;
  h.update(data.data(), data.size());
  return h.hex();
}

std::optional<std::string> sha256_file(const std::string& path) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return std::nullopt;
  Hasher h;
  std::unique_ptr<char[]> buf(new char[1 << 20]);
  std::size_t n;
  while ((n = std::fread(buf.get(), 1, 1 << 20, f.get())) > 0) h.update(buf.get(), n);
  if (std::ferror(f.get())) return std::nullopt;
  return h.hex();
}

}  // namespace whittle::runtime
