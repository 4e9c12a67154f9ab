#pragma once
// The line protocol between the tuner and flashtune-trial-worker, the one process per GPU that owns its CUDA
// context: one JSON object per line each way, a reply for every request, in order.
//
//   {"op":"hello"}                                   -> {"ok":true,"device":{...},"sm_clock_unavailable":why}
//                                                       ("" when the SM clock can be read) |
//                                                       {"ok":false,"no_gpu":true,"error":why}
//   {"op":"problem","problem":{...},"seed":S,"verify":true}
//                                                    -> {"ok":true,"reference":"gpu-fp32","setup_ms":12.5}
//   {"op":"trial","spec":{...}}                      -> {"ok":true,"outcome":{...}}
//   {"op":"remeasure","specs":[...],"rounds":10,"flush_l2":true}
//                                                    -> {"ok":true,"samples":[[...],...]}
//   {"op":"profile","spec":{...},"utilization":false} -> {"ok":true,"profile":{...}}  (available false: no
//   counters) any request that fails                           -> {"ok":false,"error":"...","poisoned":bool}
// An outcome's "timing" holds "samples_ms", "stop", "throttle_repeats" and "clock_fraction" (absent when the
// SM clock was not read). After a reply whose outcome (or error) says the CUDA context is poisoned the worker
// exits: the tuner starts a new one. The tuner side is TrialClient; the worker side is trial_worker_main.cpp.
#include <nlohmann/json.hpp>

#include "core/gpu_identity.hpp"
#include "core/problem.hpp"
#include "gpu/device_info.hpp"
#include "run/trial_runner.hpp"

namespace flashtune::trial {

nlohmann::json to_json(const AttentionProblem& p);
AttentionProblem problem_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception

nlohmann::json to_json(const gpu::DeviceInfo& d);
gpu::DeviceInfo device_from_json(const nlohmann::json& j);

nlohmann::json to_json(const run::TrialSpec& s);
run::TrialSpec spec_from_json(const nlohmann::json& j);

nlohmann::json to_json(const run::TrialOutcome& o);
run::TrialOutcome outcome_from_json(const nlohmann::json& j);

nlohmann::json to_json(const run::ProfileResult& p);
run::ProfileResult profile_from_json(const nlohmann::json& j);

}  // namespace flashtune::trial
