#include "lang/data_layout.h"

#include <filesystem>

namespace whittle::lang {

const DataLayout* data_layout(const std::string& dataset) {
  static const std::vector<DataLayout> layouts = {
      {"cifar10",
       "CIFAR-10",
       "cifar-10-batches-bin",
       {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin",
        "test_batch.bin"}},
      {"fashion_mnist",
       "Fashion-MNIST",
       "fashion-mnist",
       {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz"}},
  };
  for (const auto& l : layouts)
    if (l.dataset == dataset) return &l;
  return nullptr;
}

std::string first_missing(const DataLayout& layout, const std::string& folder) {
  for (const auto& f : layout.files) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(std::filesystem::path(folder) / f, ec)) return f;
  }
  return "";
}

}  // namespace whittle::lang
