// The code index. Keep in step with docs/diagnostics.md's table (a test checks that every code is listed there).
#include "lang/codes.h"

namespace whittle::lang {

const std::vector<CodeInfo>& all_codes() {
  static const std::vector<CodeInfo> codes = {
      // Syntax.
      {"E0001", "unexpected_input", Severity::Error, "input that fits no form of the language here"},
      {"E0002", "unclosed_delimiter", Severity::Error, "a `{`, `(` or `[` that is never closed"},
      {"E0003", "missing_value", Severity::Error, "a value, name or block is missing where the form needs one"},
      {"E0004", "unterminated_string", Severity::Error, "a string with no closing quote on its line"},
      // Names.
      {"E0101", "unknown_parameter", Severity::Error, "a named argument the stage or call does not have"},
      {"E0102", "unknown_stage", Severity::Error, "a stage that is neither built in nor `define`d"},
      {"E0103", "unknown_word", Severity::Error, "a bare word that is no value of any of the stage's options"},
      {"E0104", "unknown_variable", Severity::Error, "a `$NAME` with no `let`, `as`, parameter or sweep behind it"},
      {"E0105", "duplicate_name", Severity::Error, "a name defined twice in one scope"},
      {"E0106", "missing_file", Severity::Error,
       "a recipe or `use`d file that does not exist or is not a regular file"},
      {"E0107", "use_cycle", Severity::Error, "files that `use` each other in a cycle"},
      {"E0108", "unknown_constructor", Severity::Error, "a call such as `sgdd(...)` that builds no known value"},
      {"E0109", "ambiguous_word", Severity::Error, "a bare word that is a value of two options: name the option"},
      {"E0110", "unknown_type", Severity::Error, "a `define` parameter of an unknown type"},
      {"E0111", "nesting_too_deep", Severity::Error,
       "`use`s, `define` calls or `let`s nested deeper than whittle follows"},
      {"E0112", "bad_model_file", Severity::Error,
       "`model torchscript` with a missing file, or one that is not a scripted PyTorch module"},
      // Types, units and ranges.
      {"E0201", "wrong_unit", Severity::Error, "a quantity of the wrong unit, such as `train 20%`"},
      {"E0202", "wrong_type", Severity::Error, "a value of the wrong kind, such as a string for a number"},
      {"E0203", "out_of_range", Severity::Error, "a value outside its allowed range, such as `prune 120%`"},
      {"E0204", "duplicate_parameter", Severity::Error, "a parameter given twice"},
      {"E0205", "missing_parameter", Severity::Error, "a required parameter not given"},
      {"E0206", "unexpected_argument", Severity::Error, "a positional argument that fits no parameter"},
      {"E0207", "missing_unit", Severity::Error, "a plain number where a quantity is needed (`prune 0.5` → `50%`)"},
      {"E0208", "invalid_combination", Severity::Error,
       "options that do not go together, such as `quantize 8 bits float`"},
      // Dataflow.
      {"E0301", "no_model", Severity::Error, "a stage that needs a model before any `model`"},
      {"E0302", "no_data", Severity::Error, "a stage that needs data before any `data`"},
      {"E0303", "rewind_without_train", Severity::Error,
       "`rewind:` or fine-tuning with no `train` earlier in the chain"},
      {"E0304", "rewind_too_long", Severity::Error, "`rewind: lr` replaying more epochs than that `train` had"},
      {"E0305", "rewind_epoch_outside", Severity::Error, "`rewind: weights(epoch: K)` with K outside that `train`"},
      {"E0306", "too_many_stages", Severity::Error, "a recipe that unrolls into more stages than whittle will run"},
      {"E0307", "not_on_scripted_model", Severity::Error,
       "a stage or option that a model scripted in PyTorch cannot take, such as `convert`"},
      {"E0308", "export_after_convert", Severity::Error,
       "an ONNX or TorchScript export of a `convert`ed (int8) model, which neither writer can express"},
      // Search (lang/check_search.cc, docs/search.md).
      {"E0309", "search_without_choice", Severity::Error,
       "a `search` with no `choose` line, or a `choose` outside a `search`"},
      {"E0310", "search_on_test", Severity::Error,
       "a `search` whose constraint is measured on the test set, or not measured at all"},
      {"E0311", "search_too_large", Severity::Error, "a `search` of more than 10,000 candidates"},
      {"E0312", "search_constraint", Severity::Error,
       "a constraint the body cannot measure or compares the wrong way (`accuracy <= 90%`), a `search` inside another, "
       "or an `export` inside one"},
      // Networks: shapes and layers (lang/check_network.cc).
      {"E0401", "shortcut_shape", Severity::Error,
       "a `residual` whose body changes the shape under `shortcut: identity`"},
      {"E0402", "map_too_small", Severity::Error, "a kernel, stride or pool that shrinks the map below 1×1"},
      {"E0403", "groups_do_not_divide", Severity::Error, "a conv's `groups` that do not divide its channels in or out"},
      {"E0404", "dense_changes_size", Severity::Error, "a `dense` body that changes the map's spatial size"},
      {"E0405", "layer_after_linear", Severity::Error, "a layer that needs a map after the `linear` has flattened it"},
      {"E0406", "bad_head", Severity::Error,
       "a network that does not end in a `linear` with the data's number of classes"},
      {"E0407", "layer_out_of_place", Severity::Error,
       "a layer outside a network, a stage inside one, or a layer block on a stage"},
      {"E0408", "network_name_taken", Severity::Error,
       "a network named like a built-in architecture, a stage or a `define`"},
      {"E0409", "bad_arithmetic", Severity::Error, "arithmetic that divides by zero"},
      {"E0410", "network_too_large", Severity::Error,
       "a network whose parameters, MACs or activations exceed what whittle builds"},
      // Lint warnings (lang/lint/, one file each).
      {"W0001", "milestone_past_end", Severity::Warning, "a schedule milestone at or past the stage's last epoch"},
      {"W0002", "prune_without_retrain", Severity::Warning, "a prune followed by no retraining before it is used"},
      {"W0003", "extreme_sparsity", Severity::Warning, "cumulative sparsity of 99% or more"},
      {"W0004", "unused_name", Severity::Warning,
       "a `let`, sweep or choose name that is never used (an `as` name is a label too: the report and `submit --model` "
       "use it)"},
      {"W0005", "no_evaluate", Severity::Warning, "a recipe that never evaluates its model"},
      {"W0006", "unknown_lint", Severity::Warning, "`allow(...)` of a lint that does not exist"},
      {"W0007", "selects_on_test", Severity::Warning,
       "a sensitivity scan (and the prune it guides) measured on the test set"},
      {"W0008", "data_not_at_root", Severity::Warning, "a data `root:` folder that holds no copy of the data set"},
      // Notes.
      {"N0001", "cumulative_sparsity", Severity::Note, "the sparsity of the model after each prune"},
      {"N0002", "float_activations", Severity::Note,
       "a `quantize` of the weights that leaves the activations at 32 bits, where the score counts max(weight, "
       "activation) bits"},
      // Runtime (whittle run and plan).
      {"R0001", "not_runnable", Severity::Error, "a stage this build of whittle cannot run yet"},
      {"R0002", "data_not_found", Severity::Error, "a data set whose files are missing or malformed"},
      {"R0003", "stage_failed", Severity::Error, "a stage that failed while running (the recipe line that caused it)"},
      {"R0004", "corrupt_cache_entry", Severity::Warning, "a cache entry that failed verification; it is recomputed"},
      {"R0005", "slurm_failed", Severity::Error, "a stage's Slurm job failed, was cancelled or could not be submitted"},
  };
  return codes;
}

const CodeInfo* find_code(const std::string& code_or_name) {
  for (const auto& c : all_codes()) {
    if (code_or_name == c.code || code_or_name == c.name) return &c;
  }
  return nullptr;
}

}  // namespace whittle::lang
