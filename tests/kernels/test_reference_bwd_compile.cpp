// NVRTC compiles the backward GPU reference (reference/attention_reference_bwd.cuh) for sm_90a and sm_80:
// its three kernels at head_dim 64 and 128, bf16 and fp16, causal and not (the delta kernel has no causal
// form), one program per arch; and at head_dim 96 and 256 for sm_90a. None spills (but at head_dim 96, where
// ptxas keeps 8 to 16 bytes of the dq and dkdv kernels in local memory at 64 to 72 registers: harmless in a
// reference), and the static shared memory stays within the 48 KiB a kernel may declare.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/dtype.hpp"
#include "jit/compile_pool.hpp"
#include "jit/cubin_cache.hpp"
#include "run/kernel_loader.hpp"

namespace flashtune {
namespace {

// The name expressions of the reference's kernels at head_dim d and element type t.
std::vector<std::string> reference_bwd_kernels(int d, DType t) {
  const std::string type(cuda_type_name(t));
  std::vector<std::string> names = {fmt::format("flashtune::attention_reference_bwd_delta<{}, {}>", d, type)};
  for (const char* causal : {"false", "true"}) {
    names.push_back(fmt::format("flashtune::attention_reference_bwd_dq<{}, {}, {}>", d, causal, type));
    names.push_back(fmt::format("flashtune::attention_reference_bwd_dkdv<{}, {}, {}>", d, causal, type));
  }
  return names;
}

TEST(ReferenceBwdCompile, CompilesForHopperAndAmpereWithoutSpills) {
  std::vector<jit::CompileRequest> requests;
  for (const std::string arch : {"sm_90a", "sm_80"}) {
    jit::CompileRequest r = run::make_request("reference/attention_reference_bwd.cuh", "", arch);
    r.name_expressions.clear();
    for (int d : {64, 128})
      for (DType t : {DType::bf16, DType::f16})
        for (const std::string& e : reference_bwd_kernels(d, t)) r.name_expressions.push_back(e);
    if (arch == "sm_90a")
      for (int d : {96, 256})
        for (const std::string& e : reference_bwd_kernels(d, DType::bf16)) r.name_expressions.push_back(e);
    requests.push_back(r);
  }
  jit::CubinCache cache;  // default_dir(): cache_dir() / "cubin"
  jit::CompilePool pool(2, jit::default_worker_command());
  const auto results = pool.compile(requests, cache);
  ASSERT_EQ(results.size(), requests.size());
  int kernels = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].ok) << requests[i].arch << ":\n" << results[i].log;
    EXPECT_FALSE(results[i].cubin.empty());
    for (const std::string& e : requests[i].name_expressions) {
      SCOPED_TRACE(requests[i].arch + " " + e);
      const auto it = results[i].lowered_names.find(e);
      ASSERT_NE(it, results[i].lowered_names.end());
      const jit::PtxasInfo* f = results[i].ptxas_for(it->second);
      ASSERT_NE(f, nullptr);
      EXPECT_GT(f->registers, 0);
      EXPECT_LE(f->registers, 255);
      if (e.find("<96,") == std::string::npos)
        EXPECT_EQ(f->spill_store_bytes, 0) << f->registers << " registers";
      else
        EXPECT_LE(f->spill_store_bytes, 64) << "heavy spilling";
      EXPECT_LE(f->static_smem_bytes, 48 * 1024);
      ++kernels;
    }
  }
  EXPECT_EQ(kernels, 2 * 2 * 2 * 5 + 2 * 5);
}

}  // namespace
}  // namespace flashtune
