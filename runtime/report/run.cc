// One recipe's run as the report reads it (run.h).
#include "runtime/report/run.h"

#include <fmt/format.h>

namespace whittle::runtime {

bool Run::same(const StageRecord& s) const {
  for (const auto& step : plan->steps)
    if (step.stage == s.id) return step.key == s.key;
  return false;
}

std::string report_label(const Run& r, const StageRecord& s) {
  std::string n = r.same(s) ? stage_name(*r.plan, s.id) : fmt::format("#{} {}", s.id, s.kind);
  if (r.same(s) && !r.plan->stage(s.id).produces_model() && r.plan->stage(s.id).model_in >= 0)
    n = fmt::format("#{} {} of {}", s.id, s.kind, stage_name(*r.plan, r.plan->stage(s.id).model_in));
  if (!r.same(s) && !s.where.empty()) n += " [" + s.where + "]";  // stage_name() has it
  return n;
}

std::string score_note(const std::string& preset, const std::string& source) {
  const std::string why = source == "--score" ? "as --score asks"
                          : source == "the default"
                              ? "the default: the recipe has no `score` stage; --score picks another"
                              : "the preset of the recipe's last `score` stage, " + source + "; --score picks another";
  return fmt::format(
      "score column: {} of the model at that point ({}); bits per layer from its quantizers, as `whittle doc {}` says",
      preset, why, preset);
}

std::string report_preset(const std::vector<Run>& runs, std::string* note) {
  if (runs.empty()) return "course2025";
  const std::string& first = runs.front().plan->score_preset;
  for (const auto& r : runs)
    if (r.plan->score_preset != first) {
      if (note)
        *note = fmt::format(
            "the recipes score with different presets ({} with {}, {} with {}): the report shows {}; --score picks one "
            "for all",
            runs.front().record.recipe, first, r.record.recipe, r.plan->score_preset, first);
      return first;
    }
  if (note) *note = score_note(first, runs.front().plan->score_preset_source);
  return first;
}

std::string branch_text(const std::string& where) {
  std::string w;
  for (std::size_t i = 0; i < where.size();) {
    if (where.compare(i, 6, "sweep ") == 0)
      i += 6;
    else
      w += where[i++];
  }
  return w;
}

int measured_model(const Run& r, const StageRecord& s) {
  if (!r.same(s)) return -1;
  const lang::StageInstance& st = r.plan->stage(s.id);
  return st.produces_model() ? st.id : st.model_in;
}

std::string point_label(const Run& r, const StageRecord& s) {
  const int m = measured_model(r, s);
  if (m >= 0 && !r.plan->stage(m).as_name.empty()) return r.plan->stage(m).as_name;
  if (r.same(s) && !r.plan->stage(s.id).as_name.empty()) return r.plan->stage(s.id).as_name;
  if (!s.where.empty()) return branch_text(s.where);
  if (m < 0) return s.kind;
  const lang::StageInstance& made = r.plan->stage(m);
  std::string n = made.kind;
  if (const std::string sum = lang::stage_summary(made); !sum.empty()) n += " " + sum;
  if (n.size() <= 30) return n;
  std::size_t cut = 29;
  while (cut > 0 && (static_cast<unsigned char>(n[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return n.substr(0, cut) + "…";
}

}  // namespace whittle::runtime
