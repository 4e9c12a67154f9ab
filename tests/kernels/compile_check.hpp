#pragma once
// Shared by the kernels' NVRTC compile tests: one program of name expressions compiled in worker processes,
// and the check that it builds and that none of its kernels spills or keeps a stack frame.
#include <gtest/gtest.h>

#include <string>

#include "jit/compile_pool.hpp"
#include "jit/cubin_cache.hpp"

namespace flashtune::kernel_test {

// Compiles r's name expressions as one program: it builds, and no kernel spills (stores or loads) or has a
// stack frame.
inline void expect_compiles_without_spills(const jit::CompileRequest& r) {
  jit::CubinCache cache;
  jit::CompilePool pool(2, jit::default_worker_command());
  const auto results = pool.compile({r}, cache);
  ASSERT_EQ(results.size(), 1u);
  ASSERT_TRUE(results[0].ok) << results[0].log;
  for (const std::string& e : r.name_expressions) {
    SCOPED_TRACE(e);
    const jit::PtxasInfo* f = results[0].ptxas_for(results[0].lowered_names.at(e));
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->spill_store_bytes + f->spill_load_bytes, 0);
    EXPECT_EQ(f->stack_bytes, 0);
  }
}

}  // namespace flashtune::kernel_test
