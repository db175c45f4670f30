// Nearest-name suggestions, with a threshold that grows with the word's length.
#include "lang/suggest.h"

#include <algorithm>

namespace whittle::lang {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

std::optional<std::string> nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_d = 0;
  // One edit for short words, up to a third of the length for long ones.
  const std::size_t limit = std::max<std::size_t>(1, (word.size() + 1) / 3);
  for (const auto& c : candidates) {
    if (c == word) return c;
    const std::size_t dist = edit_distance(word, c);
    const bool prefix = word.size() >= 3 && c.rfind(word, 0) == 0;
    if ((dist <= limit || prefix) && (!best || dist < best_d)) {
      best = c;
      best_d = dist;
    }
  }
  return best;
}

std::optional<std::string> did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  if (auto n = nearest(word, candidates)) return "did you mean `" + *n + "`?";
  return std::nullopt;
}

}  // namespace whittle::lang
