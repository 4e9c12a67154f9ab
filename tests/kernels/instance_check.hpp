#pragma once
// Shared by the kernels' GPU tests: the configurations of a shipped search space as run::Instances, their
// compilation in parallel worker processes before the first context exists, and one verified launch of an
// instance on NaN-poisoned outputs (the way `tune` and `check` run it, under the device's largest budget).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "jit/compile_pool.hpp"
#include "jit/cubin_cache.hpp"
#include "run/device_limits.hpp"
#include "run/instance.hpp"
#include "run/trial_runner.hpp"
#include "space/enumerate.hpp"
#include "space/space_loader.hpp"

namespace flashtune::kernel_test {

// The configurations of search_spaces/<space>.yaml that its template admits on `p`.
inline std::vector<run::Instance> space_instances(const std::string& space, const AttentionProblem& p) {
  const space::SearchSpace s = space::load_search_space(space::search_space_dir() / (space + ".yaml"));
  const KernelTemplate& t = find_template(s.template_id);
  std::vector<run::Instance> out;
  for (const ParamValues& v : space::enumerate(s, p).kept)
    if (auto inst = run::Instance::try_make(t, v, p, nullptr)) out.push_back(std::move(*inst));
  return out;
}

// Compiles every instance (one request per distinct instantiation) into the default cubin cache, in parallel;
// a compile error fails the test.
inline void compile_all(const std::vector<run::Instance>& instances, const std::string& arch) {
  run::CompileRequests requests(arch);
  for (const run::Instance& inst : instances) requests.add(inst);
  const int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  jit::CompilePool pool(jobs, jit::default_worker_command());
  const auto results = pool.compile(requests.requests(), jit::CubinCache());
  for (std::size_t i = 0; i < results.size(); ++i)
    ASSERT_TRUE(results[i].ok) << requests.requests()[i].name_expressions.front() << "\n" << results[i].log;
}

// Verifies `inst` on the runner's current problem (set_problem(inst.problem(), ...) first); returns its O
// relative L2 error, 1.0 when it could not be checked. Every failure is a test failure naming the instance.
inline double expect_verified(run::TrialRunner& runner, const run::Instance& inst) {
  const std::string label = inst.label() + " on " + inst.problem().to_string();
  const jit::CompileResult compiled =
      jit::compile_cached(inst.compile_request(runner.device().arch()), jit::CubinCache());
  EXPECT_TRUE(compiled.ok) << label << "\n" << compiled.log;
  if (!compiled.ok) return 1.0;
  run::TrialSpec spec = inst.trial_spec(compiled, plan_sram_budget(0, run::limits_of(runner.device())));
  spec.verify = true;
  spec.time = false;
  const run::TrialOutcome o = runner.run(spec);
  EXPECT_FALSE(o.context_poisoned) << label << ": " << o.detail;
  EXPECT_EQ(o.status, TrialStatus::ok) << label << ": " << o.detail;
  if (!o.check) {
    ADD_FAILURE() << label << ": not checked";
    return 1.0;
  }
  EXPECT_TRUE(o.check->ok) << label << ": " << o.check->detail;
  EXPECT_EQ(o.check->o.non_finite, 0) << label;
  return o.check->o.rel_l2;
}

}  // namespace flashtune::kernel_test
