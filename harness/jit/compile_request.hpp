#pragma once
// What to compile (CompileRequest) and what came out (CompileResult): the plain values that flow between the
// compiler, the cubin cache and the compile worker processes.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "jit/ptxas_info.hpp"

namespace flashtune::jit {

// One NVRTC compilation. The translation unit is `#include "<absolute source_file>"`; source_file holds
// templates that NVRTC instantiates from the name expressions ("fa2_fwd<Fa2Traits<128, 64, ...>, true,
// __nv_bfloat16>"), so configuration values reach the kernel only as template arguments, never as pasted
// text.
struct CompileRequest {
  std::filesystem::path source_file;
  std::vector<std::filesystem::path> include_dirs;  // searched after the including file's directory
  std::vector<std::string> name_expressions;
  std::string arch = "sm_90a";  // a real architecture (sm_XY, sm_XYa, sm_XYf): the output is a cubin
  std::vector<std::string> extra_options;  // appended after flashtune's own NVRTC options
};

// The outcome of a CompileRequest. ok == false means the source did not compile: `log` says why, and there is
// no cubin. A result is a value either way; only a broken setup (NVRTC itself failing, unreadable files)
// throws.
struct CompileResult {
  bool ok = false;
  std::string log;  // the NVRTC program log: compiler errors and warnings, then the ptxas -v report
  std::string cache_key;
  bool cache_hit = false;
  double compile_ms =
      0;  // wall time of the NVRTC compilation (kept from the original compile on a cache hit)
  std::vector<char> cubin;
  std::map<std::string, std::string> lowered_names;  // name expression -> lowered (mangled) name
  std::vector<PtxasInfo> ptxas;

  // The ptxas facts of one kernel, by its lowered name; nullptr when the report does not mention it.
  const PtxasInfo* ptxas_for(const std::string& lowered_name) const;
};

}  // namespace flashtune::jit
