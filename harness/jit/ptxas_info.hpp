#pragma once
// Per-function facts from the ptxas -v report that NVRTC writes into its program log (--ptxas-options=-v).
//
// The report of CUDA 13.0 looks like this (one block per function; "Used" only for entry functions, and
// "cmem[0]" only on some architectures):
//   ptxas info    : Compiling entry function '_Z5heavyILi64EEvPfi' for 'sm_80'
//   ptxas info    : Function properties for _Z5heavyILi64EEvPfi
//   ptxas         .     608 bytes stack frame, 184 bytes spill stores, 204 bytes spill loads
//   ptxas info    : Used 32 registers, used 0 barriers, 608 bytes cumulative stack size, 364 bytes cmem[0]
#include <string>
#include <string_view>
#include <vector>

namespace flashtune::jit {

struct PtxasInfo {
  std::string function;       // the lowered (mangled) name, as in CompileResult::lowered_names
  int registers = -1;         // -1: not reported (a non-entry device function, or an unparsable log)
  int static_smem_bytes = 0;  // "N bytes smem": static __shared__ only; dynamic shared memory is not included
  int stack_bytes = 0;        // "N bytes stack frame"
  int spill_store_bytes = 0;
  int spill_load_bytes = 0;
  int barriers = 0;  // named barriers used ("used N barriers")

  bool operator==(const PtxasInfo&) const = default;
};

// Parses every function block of a ptxas -v report, in order of first appearance. Lines that are not part of
// the report (compiler warnings, "Compile time = ...", garbage) are ignored: the parser never throws, and a
// log without a report gives an empty vector.
std::vector<PtxasInfo> parse_ptxas_info(std::string_view log);

}  // namespace flashtune::jit
