#include "lang/std_defines.h"

#include <sstream>

#include "stdlib/embedded.h"

namespace whittle::lang {

std::vector<StdDefine> stdlib_defines() {
  std::vector<StdDefine> out;
  for (const auto& f : stdlib::embedded_files()) {
    if (f.name.rfind("std/", 0) != 0) continue;
    std::istringstream in{std::string(f.text)};
    std::string comment;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("#", 0) == 0) {
        const std::string text = line.size() > 1 && line[1] == ' ' ? line.substr(2) : line.substr(1);
        comment += (comment.empty() ? "" : "\n") + text;
        continue;
      }
      if (line.rfind("define ", 0) == 0) {
        std::string sig = line.substr(7);
        if (const auto brace = sig.rfind(" {"); brace != std::string::npos) sig.erase(brace);
        const auto paren = sig.find('(');
        out.push_back({sig.substr(0, paren), sig, std::string(f.name), comment});
      }
      comment.clear();  // a doc comment is the block right above its define
    }
  }
  return out;
}

}  // namespace whittle::lang
