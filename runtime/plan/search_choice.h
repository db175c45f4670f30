// What a finished search chose, read back from its cache entry's decision (search.json): the plan
// of a recipe whose search is cached builds the chain after it on the chosen candidate's model.
// The decision itself is made while the recipe runs (exec/search_run.h).
#pragma once
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "lang/checked.h"

namespace whittle::runtime {

/// The file of a search's entry that holds its decision.
inline constexpr const char* kSearchFile = "search.json";

/// A finished search's decision, read from its entry; nullopt when absent or unreadable.
std::optional<nlohmann::json> read_decision(const std::string& entry_dir);
/// The candidate a search entry chose, from its search.json; -1 when unreadable.
int chosen_candidate(const std::string& entry_dir);
/// The final model stage of the candidate a search entry chose (its first seed's); the search's own
/// `model_in` when the entry says none.
int chosen_model(const lang::StageInstance& search, const std::string& entry_dir);

}  // namespace whittle::runtime
