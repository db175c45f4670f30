// The catalog's docs as hover and completion show them (markdown), and the parameter an argument
// or a word belongs to.
#pragma once
#include <string>

#include "lang/analyze.h"
#include "runtime/lsp/locate.h"

namespace whittle::lsp {

/// A stage's, layer's, `define`'s or network's doc with its parameters; "" when `name` is none.
std::string stage_doc_markdown(const lang::Analysis& a, const std::string& name, bool in_network);
/// What the checker resolved for this stage line: every parameter with its value and where it came from.
std::string stage_effect_markdown(const lang::Analysis& a, const lang::ast::Stage& stage);
std::string param_markdown(const lang::ParamDef& p);
std::string call_markdown(const lang::CallDef& c);
/// The parameters of what the cursor is in: the innermost call's kind, else the stage's (a catalog
/// stage, a layer, a `define` or a network); nullptr when unknown.
const std::vector<lang::ParamDef>* params_at(const lang::Analysis& a, const Located& at);
const lang::ParamDef* param_of(const lang::Analysis& a, const Located& at, const std::string& name);
/// The parameter a bare word fills: the argument's own when named, else the enum that has the word.
const lang::ParamDef* word_param(const lang::Analysis& a, const Located& at);

}  // namespace whittle::lsp
