// The plots of one model: sparsity per layer with its blocks marked, and its weights' histograms
// as trained, pruned and quantized. Both read the model from its cache entry (torch/api.h).
#include <fmt/format.h>

#include <algorithm>

#include "runtime/plan/named_model.h"
#include "runtime/report/report_plots.h"
#include "runtime/system/atomic_file.h"
#include "runtime/torch/api.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

/// The model a run's per-model plots show, if its stage ran or was cached.
const StageRecord* plotted_model(const Run& r, const std::string& name) {
  const int id = named_model(*r.plan, name, r.record.recipe);
  const StageRecord* s = record_of(r.record, id);
  return s && (s->status == "ran" || s->status == "cached") && r.same(*s) ? s : nullptr;
}

/// "#21 retrain", "#2 train as base": a stage in a panel's title.
std::string short_name(const Plan& p, int id) {
  const lang::StageInstance& s = p.stage(id);
  return fmt::format("#{} {}{}{}", id, s.kind, s.as_name.empty() ? "" : " as " + s.as_name,
                     s.where.empty() ? "" : " [" + s.where + "]");
}

/// The block a layer belongs to: its first dotted component ("layer2.0.conv1" → "layer2").
std::string block_of(const std::string& layer) { return layer.substr(0, layer.find('.')); }

}  // namespace

std::vector<Plot> sparsity_plots(const std::vector<Run>& runs, const fs::path& dir, const std::string& model) {
  std::vector<Plot> out;
  for (const auto& r : runs) {
    const StageRecord* m = plotted_model(r, model);
    if (!m) continue;
    const auto layers = torch_api().stage_layers(*r.plan, m->id, r.store->entry_dir(m->key));
    if (layers.empty()) continue;
    const std::string name = "sparsity_" + r.record.recipe;
    // Bars numbered in forward order (a written network's module names are indices such as
    // "11.17.5": the CSV has every name); a block's name over it where it fits, and a line between
    // blocks where there are few enough to tell apart.
    const int width = std::max(1000, static_cast<int>(14 * layers.size()) + 160);
    const double per_layer = (width - 160.0) / static_cast<double>(layers.size());
    std::string csv = "layer,block,weights,nonzero,sparsity,weight_bits,activation_bits,macs\n", block, marks;
    struct Block {
      std::string name;
      std::size_t first = 0, end = 0;
      std::int64_t weights = 0, nonzero = 0;
    };
    std::vector<Block> blocks;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const auto& l = layers[i];
      const std::string b = block_of(l.name);
      if (blocks.empty() || blocks.back().name != b) blocks.push_back({b, i, i, 0, 0});
      blocks.back().end = i + 1, blocks.back().weights += l.weights, blocks.back().nonzero += l.nonzero;
      const double sp = l.weights ? 1 - static_cast<double>(l.nonzero) / static_cast<double>(l.weights) : 0;
      csv += fmt::format("{},{},{},{},{},{},{},{}\n", l.name, b, l.weights, l.nonzero, sp, l.weight_bits,
                         l.activation_bits, l.macs);
      block += fmt::format("{} {} {}\n", i + 1, 100 * sp, (blocks.size() - 1) % 2);
    }
    for (std::size_t k = 0; k < blocks.size(); ++k) {
      const Block& b = blocks[k];
      const bool numbered = b.name.find_first_not_of("0123456789") == std::string::npos;
      const std::string label =
          fmt::format("{}{} {:.0f}%", numbered ? "block " : "", b.name,
                      b.weights ? 100.0 * (1 - static_cast<double>(b.nonzero) / static_cast<double>(b.weights)) : 0.0);
      if (static_cast<double>(b.end - b.first) * per_layer >= 7.0 * static_cast<double>(label.size()) + 8)
        marks += fmt::format("set label {} at first {},104 center font ',9'\n", gp_quoted(label),
                             (static_cast<double>(b.first + b.end) + 1) / 2);
      if (k + 1 < blocks.size() && blocks.size() <= 40)
        marks += fmt::format("set arrow from first {0},0 to first {0},100 nohead dt 3 lc rgb '#888888'\n",
                             static_cast<double>(b.end) + 0.5);
    }
    write_file_atomic((dir / (name + ".csv")).string(), csv);
    const std::size_t step = std::max<std::size_t>(1, (layers.size() + 39) / 40);
    Plot p{
        name,
        fmt::format(
            "set title {}\nset ylabel 'zero weights (%)'\nset yrange [0:110]\nset ytics 0,10,100\nset style fill solid "
            "0.75\n"
            "set boxwidth 0.8\nset xtics 1,{} font ',9'\nset xlabel {}\nunset key\nset xrange [0.3:{}]\n"
            "set linetype 101 lc rgb '{}'\nset linetype 102 lc rgb '{}'\n{}",
            gp_quoted(fmt::format("{}: sparsity per layer of {} (blocks marked, each with its share of zero weights)",
                                  r.record.recipe, report_label(r, *m))),
            step, gp_quoted(fmt::format("conv and linear layers in forward order (their names: {}.csv)", name)),
            layers.size() + 0.7, series_colour(0), series_colour(4), marks),
        "$layers << EOD\n" + block + "EOD\n", "plot $layers using 1:2:($3+101) with boxes lc variable"};
    p.width = width;
    p.height = 480;
    out.push_back(p);
  }
  return out;
}

std::vector<Plot> weight_histogram_plots(const std::vector<Run>& runs, const std::string& model) {
  std::vector<Plot> out;
  for (const auto& r : runs) {
    const StageRecord* m = plotted_model(r, model);
    if (!m) continue;
    // Along the model's chain: as trained (before the first prune or quantizer), after the last
    // prune (before any quantizer), and the model itself.
    std::vector<int> chain;
    for (int cur = m->id; cur >= 0; cur = r.plan->stage(cur).model_in) chain.insert(chain.begin(), cur);
    auto compresses = [&](int id) {
      const std::string& k = r.plan->stage(id).kind;
      return k == "prune" || k == "quantize" || k == "convert";
    };
    std::vector<std::pair<int, std::string>> shown;
    int trained = -1, pruned = -1;
    for (std::size_t i = 0; i < chain.size(); ++i) {
      const std::string& k = r.plan->stage(chain[i]).kind;
      if (compresses(chain[i]) && trained < 0 && i > 0) trained = chain[i - 1];
      if (k == "quantize" || k == "convert") break;
      if (k == "prune" || (pruned >= 0 && r.plan->stage(chain[i]).produces_model())) pruned = chain[i];
    }
    if (trained >= 0) shown.emplace_back(trained, "as trained");
    if (pruned >= 0 && pruned != m->id)
      shown.emplace_back(pruned, r.plan->stage(pruned).kind == "prune" ? "pruned" : "pruned and retrained");
    // The model plotted: the one named (`--model`), else the recipe's last, which `submit` packs.
    shown.emplace_back(m->id, model.empty() ? "the final model" : "the model `" + model + "`");
    constexpr int bins = 121;
    double lo = 0, hi = 0;
    std::string data, plots;
    int panels = 0;
    for (const auto& [id, what] : shown) {
      const StageRecord* s = record_of(r.record, id);
      if (!s || (s->status != "ran" && s->status != "cached") || !r.same(*s)) continue;
      const auto h = torch_api().weight_histogram(*r.plan, id, r.store->entry_dir(s->key), lo, hi, bins);
      if (h.counts.empty()) continue;
      lo = h.lo, hi = h.hi;  // every panel on the first one's range
      std::string block;
      double top = 1;
      for (int i = 0; i < bins; ++i) {
        const double centre = h.lo + (i + 0.5) * (h.hi - h.lo) / bins;
        block += fmt::format("{} {}\n", centre, h.counts[static_cast<std::size_t>(i)]);
        top = std::max(top, static_cast<double>(h.counts[static_cast<std::size_t>(i)]));
      }
      data += fmt::format("$h{} << EOD\n{}EOD\n", panels, block);
      const double n = std::max<double>(1, static_cast<double>(h.total));
      const std::string title = fmt::format(
          "{} ({}): {} weights; {:.1f}% zero, {:.2f}% beyond the axis (neither drawn){}", what, short_name(*r.plan, id),
          h.total, 100.0 * static_cast<double>(h.zeros) / n, 100.0 * static_cast<double>(h.outside) / n,
          h.distinct < 257 ? fmt::format("; {} distinct values", h.distinct) : "");
      plots += fmt::format("set title {}\nset yrange [0:{}]\nplot $h{} using 1:2 with boxes lc rgb '{}' notitle\n",
                           gp_quoted(title), top * 1.08, panels, series_colour(static_cast<std::size_t>(panels)));
      ++panels;
    }
    if (!panels) continue;
    Plot p{
        "weights_" + r.record.recipe,
        fmt::format(
            "set style fill solid 0.8 noborder\nset boxwidth {}\nset xrange [{}:{}]\nset ylabel 'weights'\nset xlabel "
            "'weight value (conv and linear layers, as the model computes with them)'",
            (hi - lo) / bins, lo, hi),
        data, fmt::format("set multiplot layout {},1\n{}unset multiplot", panels, plots)};
    p.height = 80 + 260 * panels;
    p.width = 1000;
    out.push_back(p);
  }
  return out;
}

}  // namespace whittle::runtime
