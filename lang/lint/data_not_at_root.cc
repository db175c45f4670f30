// W0008 data_not_at_root: a `data` line whose `root:` holds no copy of its data set. `plan` and `run`
// stop there (R0002) after reading the whole recipe; lint says so at the line, before anything runs.
// A relative `root:` is read from the current folder, as the run reads it.
#include <fmt/format.h>

#include <filesystem>

#include "lang/data_layout.h"
#include "lang/lint/lint.h"

namespace whittle::lang::lint {
namespace {

void run(Context& ctx) {
  namespace fs = std::filesystem;
  std::vector<Span> warned;  // one warning per line as written (a sweep unrolls it)
  for (const StageInstance& s : ctx.recipe.stages) {
    const CheckedParam* root = s.kind == "data" ? s.param("root") : nullptr;
    const Val* dataset = s.value("dataset");
    if (!root || root->origin != Origin::Given || root->value.str.empty() || !dataset) continue;
    const DataLayout* layout = data_layout(dataset->str);
    if (!layout) continue;
    const std::string& dir = root->value.str;
    const std::string missing = first_missing(*layout, dir);
    if (missing.empty() || first_missing(*layout, (fs::path(dir) / layout->folder).string()).empty()) continue;
    bool seen = false;
    for (const Span& w : warned) seen = seen || w == root->value.span;
    if (seen) continue;
    warned.push_back(root->value.span);
    std::error_code ec;
    const bool folder = fs::is_directory(dir, ec);
    ctx.out.add(
        Diagnostic::make("W0008", root->value.span,
                         folder ? fmt::format("`{}` holds no {}: it has no `{}`", dir, layout->label, missing)
                                : fmt::format("`{}` is not a folder, so it holds no {}", dir, layout->label),
                         fmt::format("no {} here", layout->label))
            .with_note("`plan` and `run` stop at this line (R0002); a relative `root:` is read from the current folder")
            .with_help(
                fmt::format("point `root:` at the folder with the set's files (`{}`, as its archive unpacks), or leave "
                            "`root:` out and set WHITTLE_DATA",
                            layout->folder)));
  }
}

}  // namespace

extern const Rule data_not_at_root{"W0008", "data_not_at_root",
                                   "A `data` line whose `root:` folder holds no copy of its data set (the files its "
                                   "archive unpacks to). `plan` and `run` would "
                                   "stop at that line; lint says so before anything runs. Point `root:` at the folder "
                                   "with the files, or leave it out and set "
                                   "WHITTLE_DATA.",
                                   run};

}  // namespace whittle::lang::lint
