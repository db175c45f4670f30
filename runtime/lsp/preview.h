// The hover's preview of what a stage does to the model (params, non-zero, MACs, bits, score before
// and after), as `whittle plan` works it out: by building each chain's model with LibTorch. That takes
// longer than a hover may, so it is computed on a thread of its own, one document version at a time;
// a hover shows it once it is ready and says it is coming before.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace whittle::lsp {

struct Document;

class Previews {
 public:
  ~Previews();
  /// Markdown for the stage instance `stage` of `d` as it is now; starts the work when it is not
  /// there yet. "" when no preview can be made (no LibTorch, the recipe does not check). `text`,
  /// when given, is what to preview in place of the document's text (the hover blanks the stages
  /// after the one hovered when a later line has an error).
  std::string of(const Document& d, int stage, const std::string* text = nullptr);
  /// Waits for the preview in progress (tests, the benchmark).
  void wait();
  /// False: no previews at all (the fuzz target, which must not load LibTorch per input).
  bool enabled = true;

  struct State {
    std::mutex m;
    bool done = false;
    std::string uri;
    std::int64_t version = -1;
    std::string text;                                      ///< what was previewed
    std::map<int, std::map<std::string, double>> metrics;  ///< by stage id
    std::map<int, int> model_in;                           ///< by stage id
    std::map<int, std::string> notes;                      ///< why a stage has no figures
    std::map<int, std::string> searches;                   ///< a search's candidates and objectives, by its stage id
    std::string preset, error;
  };

 private:
  std::shared_ptr<State> state_;
};

}  // namespace whittle::lsp
