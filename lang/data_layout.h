// Where each data set's files are: the names a folder must hold for `data NAME root: "..."` to find
// the set, and the sub-folder its usual archive unpacks to. One table, read by the runtime that
// locates the files (runtime/cache/data_files.cc) and by the lint that checks a `root:` before a run.
#pragma once
#include <string>
#include <vector>

namespace whittle::lang {

struct DataLayout {
  std::string dataset;             ///< cifar10, fashion_mnist
  std::string label;               ///< for people: CIFAR-10
  std::string folder;              ///< what its archive unpacks to: cifar-10-batches-bin
  std::vector<std::string> files;  ///< every file the folder must hold
};

/// The layout of a data set read from files, or nullptr (synthetic data has none).
const DataLayout* data_layout(const std::string& dataset);

/// The first of the layout's files that `folder` lacks; "" when it holds them all.
std::string first_missing(const DataLayout& layout, const std::string& folder);

}  // namespace whittle::lang
