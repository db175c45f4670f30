// Reading a search's decision back (search_choice.h).
#include "runtime/plan/search_choice.h"

#include <fstream>

namespace whittle::runtime {
using json = nlohmann::json;

std::optional<json> read_decision(const std::string& entry_dir) {
  std::ifstream in(entry_dir + "/" + kSearchFile);
  if (!in) return std::nullopt;
  try {
    return json::parse(in);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

int chosen_candidate(const std::string& entry_dir) {
  const auto d = read_decision(entry_dir);
  return d && d->contains("chosen") && d->at("chosen").is_number_integer() ? d->at("chosen").get<int>() : -1;
}

int chosen_model(const lang::StageInstance& s, const std::string& entry_dir) {
  const int c = chosen_candidate(entry_dir);
  if (c < 0 || c >= static_cast<int>(s.search->candidates.size())) return s.model_in;
  return s.search->candidates[static_cast<std::size_t>(c)].runs.front().model;
}

}  // namespace whittle::runtime
