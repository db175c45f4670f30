#include "runtime/plan/export_format.h"

#include "runtime/plan/params.h"

namespace whittle::runtime {

ExportFormat export_format(const lang::StageInstance& s) {
  const Params p(s);
  const std::string f = p.word("format");
  if (f == "torchscript") return ExportFormat::TorchScript;
  if (f == "onnx") return ExportFormat::Onnx;
  if (f == "state_dict") return ExportFormat::StateDict;
  if (f == "safetensors") return ExportFormat::Safetensors;
  const std::string path = p.word("path");
  auto ends = [&](const std::string& ext) {
    return path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
  };
  if (ends(".onnx")) return ExportFormat::Onnx;
  if (ends(".safetensors")) return ExportFormat::Safetensors;
  return ExportFormat::StateDict;
}

std::string export_entry_file(const lang::StageInstance& s) {
  switch (export_format(s)) {
    case ExportFormat::TorchScript:
      return "export.ts.pt";
    case ExportFormat::Onnx:
      return "export.onnx";
    case ExportFormat::Safetensors:
      return "export.safetensors";
    case ExportFormat::StateDict:
      break;
  }
  return "export.pt";
}

}  // namespace whittle::runtime
