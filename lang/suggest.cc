// Nearest-name suggestions, with a threshold that grows with the word's length.
#include "lang/suggest.h"

#include <algorithm>
#include <vector>

namespace whittle::lang {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  // Optimal string alignment distance over three rolling rows (a swap of neighbours is one edit).
  // No allocation per call: a recipe with a thousand unknown names against a thousand defines makes
  // a million of these.
  const std::size_t n = a.size(), m = b.size();
  thread_local std::vector<std::size_t> rows;
  rows.assign(3 * (m + 1), 0);
  std::size_t* prev2 = rows.data();
  std::size_t* prev = prev2 + (m + 1);
  std::size_t* cur = prev + (m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

std::optional<std::string> nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_d = 0;
  // One edit for short words, up to a third of the length for long ones.
  const std::size_t limit = std::max<std::size_t>(1, (word.size() + 1) / 3);
  for (const auto& c : candidates) {
    if (c == word) return c;
    const bool prefix = word.size() >= 3 && c.rfind(word, 0) == 0;
    const std::size_t gap = c.size() > word.size() ? c.size() - word.size() : word.size() - c.size();
    if (!prefix && gap > limit) continue;  // at least `gap` edits apart: too far, whatever the letters
    const std::size_t dist = edit_distance(word, c);
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
