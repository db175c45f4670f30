// Small inputs that stand for large ones, so that the fuzzer (whose inputs are at most 8 KiB) and
// the regression replay reach deep nesting: an input that starts with the byte 0xFF and a count
// byte K is its remaining text repeated 100·K times, each `@` in it replaced by the repetition's
// number and each `@+` by the next number (`define d@() {\n  d@+\n}\n` is a chain of defines), up
// to 256 KiB: deep enough for any bound, small enough to stay within the fuzzer's time limit.
#pragma once
#include <string>

namespace whittle::fuzz {

inline std::string expand(const std::string& input) {
  if (input.size() < 2 || static_cast<unsigned char>(input[0]) != 0xFF) return input;
  const int times = 100 * static_cast<unsigned char>(input[1]);
  const std::string body = input.substr(2);
  std::string out;
  for (int i = 0; i < times && out.size() < (256u << 10); ++i)
    for (std::size_t k = 0; k < body.size(); ++k) {
      if (body[k] != '@') {
        out += body[k];
      } else if (k + 1 < body.size() && body[k + 1] == '+') {
        out += std::to_string(i + 1);
        ++k;
      } else {
        out += std::to_string(i);
      }
    }
  return out;
}

}  // namespace whittle::fuzz
