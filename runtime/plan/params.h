// Typed reads of a stage's parameters, or of a call's fields (`sgd(lr: 0.1)`), for the runtime. The
// checker has already filled every default and checked every type, unit and range; what can still
// go wrong is the runtime's own code asking for a name the catalog does not declare, or for the
// wrong kind of value. That is a bug in whittle, and it is reported as one (ParamError naming the
// stage, the name and stdlib/stages.yaml), never as a null dereference.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "lang/checked.h"

namespace whittle::runtime {

struct ParamError : std::logic_error {
  using std::logic_error::logic_error;
};

class Params {
 public:
  /// A stage's parameters.
  explicit Params(const lang::StageInstance& stage);
  /// A call's fields: `value` is a Call (an optimizer, a schedule, an augmentation, ...).
  explicit Params(const lang::Val& call);

  double number(const char* name) const;                  ///< an int, float or quantity as written (epochs, bits)
  std::int64_t count(const char* name) const;             ///< an int or a count of epochs, as an integer
  double fraction(const char* name) const;                ///< a percent, as a fraction: 20% → 0.2
  std::vector<double> fractions(const char* name) const;  ///< a list of percents, as fractions
  const std::string& word(const char* name) const;        ///< an enum word, or a string
  bool flag(const char* name) const;
  const lang::Val& value(const char* name) const;  ///< any value: a list, a call, a result, `none`
  /// A call's fields, or nullopt-like: a `none` value (no distillation, no sparsify).
  bool is_none(const char* name) const { return value(name).kind == lang::Val::Kind::None; }
  /// Whether the catalog declares `name` for this stage or call (a parameter some stages of a family
  /// have and others not, such as `rewind` of a retrain).
  bool declares(const char* name) const;
  /// Written in the recipe, not a default or inherited.
  bool given(const char* name) const;

  /// The names of every parameter this owner declares, in catalog order.
  std::vector<std::string> declared() const;

 private:
  const lang::Val& find(const char* name) const;
  std::string owner() const;  ///< "stage `train`", "`sgd`"
  const lang::StageInstance* stage_ = nullptr;
  const lang::Val* call_ = nullptr;
};

}  // namespace whittle::runtime
