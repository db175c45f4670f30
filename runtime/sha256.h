// SHA-256 through OpenSSL's EVP interface: of a string, or of a file streamed from disk.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace whittle::runtime {

/// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);
/// Lower-case hex SHA-256 of a file's bytes; nullopt if it cannot be read.
std::optional<std::string> sha256_file(const std::string& path);

}  // namespace whittle::runtime
