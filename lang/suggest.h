// "Did you mean ...?": the nearest valid name at every lookup (docs/architecture.md decision 9).
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace whittle::lang {

/// Optimal-string-alignment edit distance (insertions, deletions, substitutions, adjacent swaps).
std::size_t edit_distance(const std::string& a, const std::string& b);

/// The candidate closest to `word`, if it is close enough to be a plausible misspelling.
std::optional<std::string> nearest(const std::string& word, const std::vector<std::string>& candidates);

/// "did you mean `x`?" or an empty optional.
std::optional<std::string> did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace whittle::lang
