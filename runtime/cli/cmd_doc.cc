// `whittle doc` (the stage catalog, the standard library's defines, the architectures and the score presets) and
// `whittle explain` (the diagnostic codes).
#include <fmt/format.h>

#include <cstdio>
#include <sstream>

#include "lang/catalog.h"
#include "lang/codes.h"
#include "lang/lint/lint.h"
#include "lang/std_defines.h"
#include "lang/suggest.h"
#include "runtime/cli/commands.h"
#include "runtime/plan/architectures.h"
#include "runtime/plan/stages.h"

namespace whittle::cli {
namespace {

const char* const kTorchScriptDoc =
    "a module scripted in PyTorch (torch.jit.script(net).save(path)), read from `path:` relative to the recipe; "
    "parameters and "
    "MACs measured when it loads (docs/interop.md)";

/// 555422720 → "555.4M".
std::string short_count(std::int64_t n) {
  const double v = static_cast<double>(n);
  return v >= 1e9   ? fmt::format("{:.1f}G", v / 1e9)
         : v >= 1e6 ? fmt::format("{:.1f}M", v / 1e6)
                    : fmt::format("{:.1f}K", v / 1e3);
}

std::string param_line(const lang::ParamDef& p) {
  std::string dflt = p.required ? "required" : p.inherit ? "from the train" : "default " + p.default_text;
  std::string s = fmt::format("  {:<20} {:<28} {}", p.name + (p.positional ? " *" : ""), p.type.describe(), dflt);
  if (p.range.present) s += fmt::format(", range {}", p.range.text);
  return s + fmt::format("\n  {:<20} {}\n", "", p.doc);
}

std::string stage_doc(const lang::StageDef& s) {
  const bool runs = runtime::runnable_stages().count(s.name) > 0;
  std::string out = fmt::format("{}: {}\n", s.name, s.doc);
  std::string needs = s.needs_model && s.needs_data ? "a model and data" : s.needs_model ? "a model" : "nothing";
  const char* produces = s.produces == lang::StageDef::Produces::Model  ? "a model"
                         : s.produces == lang::StageDef::Produces::Data ? "data"
                                                                        : "nothing (the chain goes on from its input)";
  out += fmt::format("  needs {}; produces {}\n", needs, produces);
  if (!runs) out += "  not runnable yet: `whittle run` refuses it in this build\n";
  for (const auto& [alias, target] : lang::Catalog::builtin().aliases())
    if (target == s.name) out += fmt::format("  also written `{}`\n", alias);
  out += "\nparameters (* may be written without its name):\n";
  for (const auto& p : s.params) out += param_line(p);
  for (const auto& r : s.rules) out += fmt::format("\nrule: {}\n", r.message);
  return out;
}

int run_doc(const std::string& name) {
  const lang::Catalog& cat = lang::Catalog::builtin();
  if (name.empty()) {
    bool all_run = true;
    for (const auto& s : cat.stages()) all_run = all_run && runtime::runnable_stages().count(s.name) > 0;
    std::string out = all_run ? "stages:\n" : "stages (marked ○: not runnable yet in this build):\n";
    for (const auto& s : cat.stages()) {
      const bool runs = runtime::runnable_stages().count(s.name) > 0;
      out += fmt::format("  {} {:<12} {}\n", runs ? " " : "○", s.name, s.doc);
    }
    for (const auto& [alias, target] : cat.aliases())
      out += fmt::format("    {:<12} another name for `{}`\n", alias, target);
    out += "\nvalues built with calls, by family:\n";
    for (const auto& f : cat.families()) {
      std::string kinds;
      for (const auto& k : f.kinds) kinds += (kinds.empty() ? "" : ", ") + k.name;
      out += fmt::format("  {:<12} {} ({})\n", f.name, f.doc, kinds);
    }
    out += "\nstages written in the language (the standard library; `use \"FILE\"`, then call them):\n";
    for (const auto& d : lang::stdlib_defines()) {
      std::string first;  // its first sentence: the lines up to one that ends with a full stop
      std::istringstream lines(d.doc);
      for (std::string l; std::getline(lines, l);) {
        first += (first.empty() ? "" : " ") + l;
        if (!l.empty() && l.back() == '.') break;
      }
      out += fmt::format("  {:<14} {} ({})\n", d.name, first, d.file);
    }
    out += "\nlayers of a network (`network NAME(PARAMS) { LAYERS }`, then `model NAME`):\n";
    for (const auto& l : cat.layers()) out += fmt::format("  {:<12} {}\n", l.name, l.doc);
    out += "\narchitectures (`model NAME`; parameters and MACs on CIFAR-10 at their defaults):\n";
    for (const auto& a : runtime::architectures())
      out += fmt::format("  {:<16} {:>10} params {:>7} MACs  {}\n", a.name, a.cifar_params, short_count(a.cifar_macs),
                         a.doc);
    out += fmt::format("  {:<16} {:>10}        {:>7}       {}\n", "torchscript", "", "", kTorchScriptDoc);
    out += "\nscore presets (`score PRESET`; the recipe's last one is what its tables show):\n";
    for (const auto& p : runtime::score_preset_docs()) out += fmt::format("  {:<16} {}\n", p.name, p.period);
    out +=
        "\n`whittle doc NAME` shows a stage, a family, a call, a layer, a standard `define`, an architecture or a "
        "score preset in full.\n";
    std::fputs(out.c_str(), stdout);
    return 0;
  }
  if (const lang::StageDef* s = cat.stage(name)) {
    std::fputs(stage_doc(*s).c_str(), stdout);
    return 0;
  }
  if (const lang::Family* f = cat.family(name)) {
    std::string out = fmt::format("{}: {}\n", f->name, f->doc);
    for (const auto& k : f->kinds) out += fmt::format("  {:<12} {}\n", k.name, k.doc);
    std::fputs(out.c_str(), stdout);
    return 0;
  }
  if (const lang::CallDef* l = cat.layer(name); l || name == "layers") {
    std::string out;
    if (!l) {
      for (const auto& k : cat.layers()) out += fmt::format("  {:<12} {}\n", k.name, k.doc);
    } else {
      out = fmt::format("{}: {} (a layer of a network)\n", l->name, l->doc);
      if (!l->params.empty()) out += "\nparameters (* may be written without its name):\n";
      for (const auto& p : l->params) out += param_line(p);
    }
    std::fputs(out.c_str(), stdout);
    return 0;
  }
  const auto calls = cat.calls_named(name);
  if (!calls.empty()) {
    for (const lang::CallDef* k : calls) {
      std::string out = fmt::format("{}(...): {} (a value of family {})\n\nparameters:\n", k->name, k->doc, k->family);
      for (const auto& p : k->params) out += param_line(p);
      std::fputs(out.c_str(), stdout);
    }
    return 0;
  }
  const auto defines = lang::stdlib_defines();
  for (const auto& d : defines) {
    if (d.name != name) continue;
    std::printf("%s: a stage written in the language, in the standard library\n  use \"%s\"\n\n", d.signature.c_str(),
                d.file.c_str());
    std::string doc = "  " + d.doc;
    for (std::size_t i = 0; (i = doc.find('\n', i)) != std::string::npos; i += 3) doc.replace(i, 1, "\n  ");
    std::printf("%s\n", doc.c_str());
    return 0;
  }
  if (const runtime::ArchitectureDoc* a = runtime::architecture(name)) {
    std::string out = fmt::format(
        "{}: {}\n  model {}\n\non CIFAR-10 (3x32x32, 10 classes) at its defaults: {} parameters, {} MACs for one "
        "image\n",
        a->name, a->doc, a->name, a->cifar_params, a->cifar_macs);
    out += "\nknobs (parameters of `model`; `whittle doc model` has their ranges):\n";
    for (const auto& k : runtime::knobs_of(a->name)) {
      const lang::ParamDef* p = cat.stage("model")->param(k);
      out += fmt::format("  {:<12} {} (default {})\n", k, p->doc, p->default_text);
    }
    std::fputs(out.c_str(), stdout);
    return 0;
  }
  if (const runtime::ScorePresetDoc* p = runtime::score_preset_doc(name)) {
    std::string out =
        fmt::format("score {}: {}\n\n  score = {}\n\nhow whittle counts it:\n", p->name, p->period, p->formula);
    for (const char* c : p->counting) out += fmt::format("  - {}\n", c);
    out +=
        "\nA recipe's tables, plots and claims show the preset of its last `score` stage (course2025 without one); "
        "--score picks "
        "another.\n";
    std::fputs(out.c_str(), stdout);
    return 0;
  }
  if (name == "torchscript") {
    std::printf("model torchscript path: \"my_net.pt\": %s\n", kTorchScriptDoc);
    return 0;
  }
  std::vector<std::string> all = cat.stage_names();
  all.push_back("torchscript");
  for (const auto& a : runtime::architectures()) all.push_back(a.name);
  for (const auto& p : runtime::score_preset_docs()) all.push_back(p.name);
  for (const auto& d : defines) all.push_back(d.name);
  for (const auto& l : cat.layers()) all.push_back(l.name);
  for (const auto& f : cat.families()) {
    all.push_back(f.name);
    for (const auto& k : f.kinds) all.push_back(k.name);
  }
  std::fprintf(stderr,
               "error: no stage, family, call, layer, standard `define`, architecture or score preset named `%s`\n",
               name.c_str());
  if (auto h = lang::did_you_mean(name, all)) std::fprintf(stderr, "  = help: %s\n", h->c_str());
  return 1;
}

int run_explain(const std::string& code) {
  if (code.empty()) {
    for (const auto& c : lang::all_codes()) std::printf("%s  %-22s %s\n", c.code, c.name, c.summary);
    return 0;
  }
  const lang::CodeInfo* c = lang::find_code(code);
  if (!c) {
    std::vector<std::string> all;
    for (const auto& x : lang::all_codes()) {
      all.push_back(x.code);
      all.push_back(x.name);
    }
    std::fprintf(stderr, "error: no diagnostic code `%s`\n", code.c_str());
    if (auto h = lang::did_you_mean(code, all)) std::fprintf(stderr, "  = help: %s\n", h->c_str());
    return 1;
  }
  std::printf("%s %s (%s): %s\n", c->code, c->name, lang::severity_name(c->severity), c->summary);
  for (const auto& r : lang::lint::rules())
    if (std::string(r.code) == c->code ||
        (std::string(c->code) == "N0001" && std::string(r.name) == "extreme_sparsity"))
      std::printf("\n%s\n", r.doc);
  if (c->severity != lang::Severity::Error)
    std::printf(
        "\nSilence it on one statement with `# whittle: allow(%s)` at the end of its line or on the line before.\n",
        c->name);
  return 0;
}

}  // namespace

void add_doc(CLI::App& app, int& exit_code) {
  auto name = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand("doc", "Show the stage catalog, or one stage, family or call");
  c->add_option("name", *name,
                "A stage (prune), a family (optimizer), a call (sgd) or a standard define (lr_rewinding)");
  c->callback([name, &exit_code] { exit_code = run_doc(*name); });
}

void add_explain(CLI::App& app, int& exit_code) {
  auto code = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand("explain", "Explain a diagnostic code (E0102) or lint (prune_without_retrain)");
  c->add_option("code", *code, "A code or a lint name; none lists them all");
  c->callback([code, &exit_code] { exit_code = run_explain(*code); });
}

}  // namespace whittle::cli
