#include "jit/compile_request.hpp"

namespace flashtune::jit {

const PtxasInfo* CompileResult::ptxas_for(const std::string& lowered_name) const {
  for (const PtxasInfo& info : ptxas)
    if (info.function == lowered_name) return &info;
  return nullptr;
}

}  // namespace flashtune::jit
