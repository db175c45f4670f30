// Checkpoints as data (runtime/system/safetensors.h, runtime/torch/models/tensor_file.h): a model and an optimizer
// saved and read back exactly; a hostile file refused in words, never loaded as code; a cache of the
// previous format (LibTorch archives) upgraded in place with every entry and checkpoint kept.
#include <catch2/catch.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lang/analyze.h"
#include "runtime/cache/cache_upgrade.h"
#include "runtime/cache/store.h"
#include "runtime/exec/executor.h"
#include "runtime/plan/plan.h"
#include "runtime/system/atomic_file.h"
#include "runtime/system/safetensors.h"
#include "runtime/system/sha256.h"
#include "runtime/torch/compression/model_file.h"
#include "runtime/torch/compression/prune.h"
#include "runtime/torch/compression/quant.h"
#include "runtime/torch/models/legacy_file.h"
#include "runtime/torch/models/models.h"
#include "runtime/torch/models/tensor_file.h"
#include "runtime/torch/training/checkpoint.h"
#include "runtime/torch/training/fit.h"

using namespace whittle;
using namespace whittle::runtime;
namespace fs = std::filesystem;

namespace {

struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("whittle-tensorfiles-" + std::to_string(::getpid()));
  Scratch() {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Scratch() { fs::remove_all(dir); }
};

/// A small_cnn on the synthetic set, pruned half and quantized to 4 bits: masks, quantizers, buffers.
struct Model {
  std::unique_ptr<Plan> plan;
  std::unique_ptr<ArtifactStore> store;
  torchrt::Shape shape{};
  explicit Model(const fs::path& dir) {
    auto a = lang::analyze("m.recipe", "data synthetic size: 64\nmodel small_cnn width: 4\ntrain 1 epoch\n");
    REQUIRE_FALSE(a->diags.has_errors());
    store = std::make_unique<ArtifactStore>((dir / "plan-cache").string());
    plan = make_plan(std::move(a), *store);
    shape = torchrt::dataset_shape(plan->stage(0));
  }
  torchrt::Net build(std::uint64_t seed, bool compress) const {
    torchrt::Net n = torchrt::build_model(plan->stage(1), shape, seed);
    if (compress) {
      torchrt::PruneSpec half;
      half.amount = 0.5;
      auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
      torchrt::prune(n, half, gen);
      torchrt::QuantSpec four;
      four.method = "uniform";
      four.bits = 4;
      for (const auto& l : n.layers()) torchrt::quantize_layer(*l.module, four);
    }
    return n;
  }
};

bool same_state(const torchrt::Net& a, const torchrt::Net& b) {
  const auto pa = a.module->named_parameters(), pb = b.module->named_parameters();
  const auto ba = a.module->named_buffers(), bb = b.module->named_buffers();
  if (pa.size() != pb.size() || ba.size() != bb.size() || a.masks.size() != b.masks.size()) return false;
  for (std::size_t i = 0; i < pa.size(); ++i)
    if (pa[i].key() != pb[i].key() || !torch::equal(pa[i].value(), pb[i].value())) return false;
  for (std::size_t i = 0; i < ba.size(); ++i)
    if (ba[i].key() != bb[i].key() || !torch::equal(ba[i].value(), bb[i].value())) return false;
  for (const auto& [k, m] : a.masks)
    if (!b.masks.count(k) || !torch::equal(m, b.masks.at(k))) return false;
  return true;
}

/// One SGD step with momentum on random data, so the optimizer has state.
void step(torchrt::Net& net, torch::optim::Optimizer& opt, const torchrt::Shape& shape) {
  torch::manual_seed(7);
  opt.zero_grad();
  const auto y = net.module->forward(torch::randn({4, shape.channels, shape.height, shape.width}));
  y.sum().backward();
  opt.step();
}

/// What whittle wrote before checkpoints were data: a LibTorch archive of the same tensors.
void write_legacy_model(const torchrt::Net& net, const std::string& meta, const std::string& path) {
  torch::serialize::OutputArchive a;
  a.write("meta",
          torch::from_blob(const_cast<char*>(meta.data()), {static_cast<std::int64_t>(meta.size())}, torch::kUInt8)
              .clone());
  for (const auto& p : net.module->named_parameters()) a.write("p." + p.key(), p.value().detach().contiguous());
  for (const auto& b : net.module->named_buffers()) a.write("b." + b.key(), b.value().contiguous());
  for (const auto& [k, m] : net.masks) a.write("m." + k, m.contiguous());
  a.save_to(path);
}

void write_legacy_optimizer(torch::optim::Optimizer& opt, const std::string& path) {
  torch::serialize::OutputArchive a;
  std::int64_t index = 0;
  for (std::size_t g = 0; g < opt.param_groups().size(); ++g) {
    auto& group = opt.param_groups()[g];
    torch::serialize::OutputArchive options;
    group.options().serialize(options);
    a.write("group." + std::to_string(g), options);
    for (const auto& p : group.params()) {
      auto it = opt.state().find(c10::guts::to_string(p.unsafeGetTensorImpl()));
      if (it != opt.state().end()) {
        torch::serialize::OutputArchive st;
        it->second->serialize(st);
        a.write("param." + std::to_string(index), st);
      }
      ++index;
    }
  }
  a.save_to(path);
}

}  // namespace

TEST_CASE("a model saves as a safetensors file and loads back exactly: masks, quantizers, buffers", "[tensorfile]") {
  Scratch s;
  Model m(s.dir);
  torchrt::Net net = m.build(1, true);
  const std::string path = (s.dir / "model.safetensors").string();
  torchrt::save_net(net, path);
  const auto file = safetensors::read_file(path);  // data: its header is JSON a reader can check
  CHECK(file.meta("format") == torchrt::kModelFileFormat);
  CHECK(file.find("p." + net.module->named_parameters()[0].key()) != nullptr);
  torchrt::Net back = m.build(2, false);
  torchrt::load_net(back, path);
  CHECK(same_state(net, back));
  CHECK(torchrt::net_bytes(back) == torchrt::net_bytes(net));  // the same bytes again: keys and packs stay stable
}

TEST_CASE("an optimizer's state saves as data and restores to the same next step", "[tensorfile]") {
  Scratch s;
  Model m(s.dir);
  for (const char* kind : {"sgd(lr: 0.1, momentum: 0.9, nesterov: true)", "adam(lr: 0.01)", "adamw(lr: 0.01)"}) {
    INFO(kind);
    auto a = lang::analyze(
        "o.recipe",
        std::string("data synthetic size: 64\nmodel small_cnn width: 4\ntrain 1 epoch optimizer: ") + kind + "\n");
    REQUIRE_FALSE(a->diags.has_errors());
    const lang::Val& o = *a->recipe.stages.at(2).value("optimizer");
    torchrt::Net one = m.build(1, false), two = m.build(1, false);
    auto opt1 = torchrt::make_optimizer(o, one), opt2 = torchrt::make_optimizer(o, two);
    step(one, *opt1, m.shape);
    step(two, *opt2, m.shape);
    const std::string bytes = torchrt::optimizer_bytes(*opt1);
    CHECK(bytes == torchrt::optimizer_bytes(*opt2));  // no addresses in it: two identical runs write the same bytes
    CHECK(safetensors::parse(bytes).meta("format") == torchrt::kOptimizerFileFormat);
    // A fresh optimizer over `two`, restored, steps exactly as the original does.
    auto restored = torchrt::make_optimizer(o, two);
    torchrt::load_optimizer_bytes(*restored, bytes, torch::kCPU);
    step(one, *opt1, m.shape);
    step(two, *restored, m.shape);
    CHECK(same_state(one, two));
  }
}

TEST_CASE("hostile model files are refused in words, and nothing in them runs", "[tensorfile][hostile]") {
  Scratch s;
  Model m(s.dir);
  torchrt::Net net = m.build(1, false);
  const std::string path = (s.dir / "model.safetensors").string();
  auto refused = [&](const std::string& bytes) {
    write_file_atomic(path, bytes);
    torchrt::Net into = m.build(2, false);
    try {
      torchrt::load_net(into, path);
    } catch (const StageError& e) {
      return std::string(e.what());
    }
    return std::string("loaded");
  };
  // Garbage, a LibTorch archive (a TorchScript zip: code), an empty file: no C++ frames, just why.
  CHECK(refused(std::string(5000, 'g')).find("is not a valid safetensors file") != std::string::npos);
  write_legacy_model(net, "{}", (s.dir / "legacy.pt").string());
  std::ifstream legacy(s.dir / "legacy.pt", std::ios::binary);
  const std::string archive((std::istreambuf_iterator<char>(legacy)), std::istreambuf_iterator<char>());
  CHECK(refused(archive).find("is not a valid safetensors file") != std::string::npos);
  CHECK(refused("").find("too short") != std::string::npos);
  // A valid file of another kind, and one with a tensor larger than the architecture has.
  safetensors::Writer other;
  other.meta("format", "something else");
  CHECK(refused(other.bytes()).find("is not a whittle model") != std::string::npos);
  safetensors::Writer bigger;
  bigger.meta("format", torchrt::kModelFileFormat);
  const std::string first = net.module->named_parameters()[0].key();  // the first conv's weight
  for (const auto& p : net.module->named_parameters()) {
    torch::Tensor t = p.value().detach();
    if (p.key() == first) t = torch::zeros({t.size(0) * 4, t.size(1), t.size(2), t.size(3)});
    torchrt::add_tensor(bigger, "p." + p.key(), t);
  }
  for (const auto& b : net.module->named_buffers()) torchrt::add_tensor(bigger, "b." + b.key(), b.value());
  CHECK(refused(bigger.bytes()).find("cannot have become by pruning") != std::string::npos);
  // Metadata that is no JSON object, and a quantizer the model cannot take.
  safetensors::Writer meta;
  meta.meta("format", torchrt::kModelFileFormat);
  meta.meta("whittle", "[1, 2]");
  CHECK(refused(meta.bytes()).find("malformed metadata") != std::string::npos);
}

TEST_CASE("a cache of the previous format is upgraded in place: every entry and checkpoint kept, loadable",
          "[tensorfile][upgrade]") {
  Scratch s;
  Model m(s.dir);
  const fs::path root = s.dir / "cache";
  std::string key;
  torchrt::Net net = m.build(1, true), trained = m.build(3, false);
  auto a = lang::analyze(
      "o.recipe",
      "data synthetic size: 64\nmodel small_cnn width: 4\ntrain 1 epoch optimizer: sgd(lr: 0.1, momentum: 0.9)\n");
  auto opt = torchrt::make_optimizer(*a->recipe.stages.at(2).value("optimizer"), trained);
  step(trained, *opt, m.shape);
  {
    ArtifactStore store(root.string());  // a cache of this format, turned into one of the previous
    key = std::string(64, 'a');
    const std::string tmp = store.make_temp_dir(key);
    nlohmann::json meta = nlohmann::json::parse(safetensors::parse(torchrt::net_bytes(net)).meta("whittle"));
    write_legacy_model(net, meta.dump(), (fs::path(tmp) / "model.pt").string());
    write_legacy_model(trained, "{\"half\": false, \"quant\": {}}", (fs::path(tmp) / "snapshot-1.pt").string());
    write_legacy_optimizer(*opt, (fs::path(tmp) / "snapshot-1.optim.pt").string());
    std::ofstream(fs::path(tmp) / "log.txt") << "trained\n";
    Manifest mf;
    mf.key = key;
    mf.kind = "train";
    mf.label = "#2 train";
    mf.metrics["accuracy"] = 0.5;
    store.commit(tmp, mf);
    // An unfinished stage's epoch checkpoints, as a killed run of the old format left them.
    const std::string part = store.partial_dir(std::string(64, 'b'));
    write_legacy_model(trained, "{\"half\": false, \"quant\": {}}", (fs::path(part) / "epoch-1.pt").string());
    write_legacy_optimizer(*opt, (fs::path(part) / "epoch-1.optim.pt").string());
    const nlohmann::json state = {{"format", 1},
                                  {"epoch", 1},
                                  {"epochs", 2},
                                  {"log", "epoch 1\n"},
                                  {"history", ""},
                                  {"loss", 1.5},
                                  {"accuracy", nullptr},
                                  {"files",
                                   {{"epoch-1.pt", *sha256_file(part + "/epoch-1.pt")},
                                    {"epoch-1.optim.pt", *sha256_file(part + "/epoch-1.optim.pt")}}}};
    std::ofstream(fs::path(part) / "state-1.json") << state.dump(1) << "\n";
    // A damaged entry: moved aside, not converted.
    const std::string bad = store.make_temp_dir(std::string(64, 'c'));
    std::ofstream(fs::path(bad) / "model.pt") << "not an archive";
    Manifest mb;
    mb.key = std::string(64, 'c');
    mb.kind = "prune";
    mb.label = "#3 prune";
    store.commit(bad, mb);
  }
  std::ofstream(root / "VERSION") << "whittle-cache 2\n";
  // This whittle refuses it, and says how to upgrade.
  try {
    ArtifactStore refused(root.string());
    FAIL("opened");
  } catch (const StoreError& e) {
    CHECK(std::string(e.what()).find("whittle cache upgrade --cache") != std::string::npos);
  }
  const UpgradeOutcome r = upgrade_cache(root.string(), torchrt::upgrade_legacy_file);
  CHECK(r.entries == 2);
  CHECK(r.converted == 1);
  CHECK(r.partial == 1);
  REQUIRE(r.quarantined.size() == 1);
  CHECK(r.quarantined[0].find("#3 prune") != std::string::npos);
  ArtifactStore store(root.string());
  std::string why;
  CHECK(store.verify(key, why));
  INFO(why);
  const auto mf = store.manifest(key);
  REQUIRE(mf);
  std::vector<std::string> names;
  for (const auto& f : mf->files) names.push_back(f.name);
  CHECK(names == std::vector<std::string>{"log.txt", "model.safetensors", "snapshot-1.optim.safetensors",
                                          "snapshot-1.safetensors"});
  CHECK(mf->metrics.at("accuracy") == 0.5);
  torchrt::Net back = m.build(2, false);
  torchrt::load_net(back, store.entry_dir(key) + "/model.safetensors");
  CHECK(same_state(net, back));
  // The snapshot's optimizer restores to the same next step as the original.
  torchrt::Net snap = m.build(4, false), again = m.build(3, false);
  torchrt::load_net(snap, store.entry_dir(key) + "/snapshot-1.safetensors");
  CHECK(same_state(snap, trained));
  auto restored = torchrt::make_optimizer(*a->recipe.stages.at(2).value("optimizer"), snap);
  torchrt::load_optimizer_file(*restored, store.entry_dir(key) + "/snapshot-1.optim.safetensors", torch::kCPU);
  step(trained, *opt, m.shape);
  step(snap, *restored, m.shape);
  CHECK(same_state(snap, trained));
  // The epoch checkpoints resume as before, now from safetensors files.
  std::string note;
  const torchrt::EpochState st = torchrt::EpochCheckpoints(store.partial_path(std::string(64, 'b')), 2).resume(note);
  CHECK(note.empty());
  CHECK(st.epoch == 1);
  CHECK(st.log == "epoch 1\n");
  CHECK(st.files.count("epoch-1.safetensors"));
  CHECK(fs::exists(root / "corrupt"));
  CHECK(fs::is_empty(root / "tmp"));
  // Again: nothing to do.
  CHECK(upgrade_cache(root.string(), torchrt::upgrade_legacy_file).already);
}
