// The plots of one model: sparsity per layer with its blocks marked, and its weights' histograms
// as trained, pruned and quantized. Both read the model from its cache entry (torch_api.h).
#include <fmt/format.h>

#include <algorithm>

#include "runtime/atomic_file.h"
#include "runtime/report_plots.h"
#include "runtime/submission.h"
#include "runtime/torch_api.h"

namespace whittle::runtime {
namespace fs = std::filesystem;

namespace {

/// The model a run's per-model plots show, if its stage ran or was cached.
const StageRecord* plotted_model(const Run& r, const std::string& name) {
  const int id = submitted_model(*r.plan, name, r.record.recipe);
  const StageRecord* s = record_of(r.record, id);
  return s && (s->status == "ran" || s->status == "cached") && r.same(*s) ? s : nullptr;
}

/// "#21 retrain", "#2 train as base": a stage in a panel's title.
std::string short_name(const Plan& p, int id) {
  const lang::StageInstance& s = p.stage(id);
  return fmt::format("#{} {}{}{}", id, s.kind, s.as_name.empty() ? "" : " as " + s.as_name, s.where.empty() ? "" : " [" + s.where + "]");
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
    std::string csv = "layer,block,weights,nonzero,sparsity,weight_bits,activation_bits,macs\n", block, marks;
    std::vector<std::string> blocks;
    std::size_t first = 0;  // the first layer of the current block
    std::int64_t bw = 0, bnz = 0;
    auto close_block = [&](std::size_t end) {
      const double centre = (static_cast<double>(first) + static_cast<double>(end) - 1) / 2;
      marks += fmt::format("set label {} at first {},104 center font ',9'\n",
                           gp_quoted(fmt::format("{} {:.0f}%", blocks.back(), bw ? 100.0 * (1 - static_cast<double>(bnz) / static_cast<double>(bw)) : 0.0)),
                           centre);
      if (end < layers.size()) marks += fmt::format("set arrow from first {0},0 to first {0},100 nohead dt 3 lc rgb '#888888'\n", end - 0.5);
    };
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const auto& l = layers[i];
      const std::string b = block_of(l.name);
      if (blocks.empty() || blocks.back() != b) {
        if (!blocks.empty()) close_block(i);
        blocks.push_back(b), first = i, bw = 0, bnz = 0;
      }
      bw += l.weights, bnz += l.nonzero;
      const double sp = l.weights ? 1 - static_cast<double>(l.nonzero) / static_cast<double>(l.weights) : 0;
      csv += fmt::format("{},{},{},{},{},{},{},{}\n", l.name, b, l.weights, l.nonzero, sp, l.weight_bits, l.activation_bits, l.macs);
      block += fmt::format("{} {} {}\n", gp_data_label(l.name), 100 * sp, (blocks.size() - 1) % 2);
    }
    if (layers.empty()) continue;
    close_block(layers.size());
    const std::string name = "sparsity_" + r.record.recipe;
    write_file_atomic((dir / (name + ".csv")).string(), csv);
    Plot p{name,
           fmt::format("set title {}\nset ylabel 'zero weights (%)'\nset yrange [0:110]\nset ytics 0,10,100\nset style fill solid 0.75\n"
                       "set boxwidth 0.8\nset xtics rotate by -60 font ',{}'\nset bmargin 11\nunset key\nset xrange [-0.7:{}]\n"
                       "set linetype 101 lc rgb '{}'\nset linetype 102 lc rgb '{}'\n{}",
                       gp_quoted(fmt::format("{}: sparsity per layer of {} (blocks marked, with the share of their weights that are zero)",
                                             r.record.recipe, report_label(r, *m))),
                       layers.size() > 60 ? 6 : 8, layers.size() - 0.3, series_colour(0), series_colour(4), marks),
           "$layers << EOD\n" + block + "EOD\n", "plot $layers using 0:2:($3+101):xtic(1) with boxes lc variable"};
    p.width = std::max(1000, static_cast<int>(14 * layers.size()) + 160);
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
    if (pruned >= 0 && pruned != m->id) shown.emplace_back(pruned, r.plan->stage(pruned).kind == "prune" ? "pruned" : "pruned and retrained");
    shown.emplace_back(m->id, trained < 0 ? "the model" : "the model submitted");
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
      const std::string title =
          fmt::format("{} ({}): {} weights; {:.1f}% zero, {:.2f}% beyond the axis (neither drawn){}", what, short_name(*r.plan, id), h.total,
                      100.0 * static_cast<double>(h.zeros) / n, 100.0 * static_cast<double>(h.outside) / n,
                      h.distinct < 257 ? fmt::format("; {} distinct values", h.distinct) : "");
      plots += fmt::format("set title {}\nset yrange [0:{}]\nplot $h{} using 1:2 with boxes lc rgb '{}' notitle\n", gp_quoted(title), top * 1.08,
                           panels, series_colour(static_cast<std::size_t>(panels)));
      ++panels;
    }
    if (!panels) continue;
    Plot p{"weights_" + r.record.recipe,
           fmt::format("set style fill solid 0.8 noborder\nset boxwidth {}\nset xrange [{}:{}]\nset ylabel 'weights'\nset xlabel "
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
