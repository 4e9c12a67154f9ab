// A stand-in for flashtune-trial-worker that needs no GPU, for testing how the tuner survives its worker.
// It speaks the real protocol (tune/trial_protocol.hpp) and reports an H100-like device, then behaves by the
// kernel label of each trial:
//   contains "block_n=32"   exits with status 9 after reading the trial (a worker that dies mid-trial)
//   contains "block_n=64 stages=1"  never answers (a hung kernel: the tuner's watchdog must kill it)
//   anything else           answers ok with synthetic samples: 1 ms + block_n / 1000 (no claim about speed)
// and answers "profile" with synthetic counters (none with FAKE_WORKER_NO_COUNTERS=1). Timings carry a clock
// fraction of the spec's throttle_threshold + 0.125 and throttle_retries repeats, so that a test sees the
// space's settings reach the worker and the outcome reach the store; with FAKE_WORKER_NO_CLOCK=1 the worker
// has no SM clock (hello says why) and timings have no clock fraction. Every started process appends a line
// to $FAKE_WORKER_LOG (if set), so a test can count restarts; FAKE_WORKER_DELAY_MS makes every trial take
// that long. For `flashtune check` (tests/check): a trial whose label contains $FAKE_WORKER_INCORRECT fails
// verification (incorrect); one whose label contains $FAKE_WORKER_SANITIZER_ERROR writes a
// compute-sanitizer-like report to stderr, and the process then ends with a sanitizer summary and status 86
// (the fake sanitizer of tests/check sends that stderr to the sanitizer's log).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "trial/trial_protocol.hpp"

using nlohmann::json;
using namespace flashtune;

namespace {

gpu::DeviceInfo fake_device() {
  gpu::DeviceInfo d;
  d.name = "Fake H100 (test worker)";
  d.cc_major = 9;
  d.cc_minor = 0;
  d.sm_count = 132;
  d.l2_bytes = 52428800;
  d.smem_optin_per_block = 232448;
  d.smem_per_sm = 233472;
  d.smem_per_block_default = 49152;
  d.smem_reserved_per_block = 1024;
  d.regs_per_sm = 65536;
  d.regs_per_block = 65536;
  d.max_threads_per_sm = 2048;
  d.max_threads_per_block = 1024;
  d.max_blocks_per_sm = 32;
  d.warp_size = 32;
  d.total_mem_bytes = 80LL << 30;
  d.driver_version = 13000;
  return d;
}

double fake_ms(const std::string& label) {
  const auto at = label.find("block_n=");
  const int bn = at == std::string::npos ? 0 : std::atoi(label.c_str() + at + 8);
  return 1.0 + bn / 1000.0;
}

}  // namespace

int main() {
  int sanitizer_errors = 0;
  if (const char* log = std::getenv("FAKE_WORKER_LOG")) std::ofstream(log, std::ios::app) << "start\n";
  std::string line;
  while (std::getline(std::cin, line)) {
    const json req = json::parse(line);
    const std::string op = req.at("op").get<std::string>();
    json reply{{"ok", true}};
    if (op == "hello") {
      reply["device"] = trial::to_json(fake_device());
      reply["sm_clock_unavailable"] = std::getenv("FAKE_WORKER_NO_CLOCK") ? "NVML unavailable (fake)" : "";
    } else if (op == "problem") {
      reply["reference"] = "fake";
      reply["setup_ms"] = 0.0;
    } else if (op == "trial") {
      const run::TrialSpec spec = trial::spec_from_json(req.at("spec"));
      if (const char* ms = std::getenv("FAKE_WORKER_DELAY_MS"))  // a slow sweep, for kill tests
        std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(ms)));
      if (spec.label.find("block_n=32") != std::string::npos) std::_Exit(9);
      if (spec.label.find("block_n=64 stages=1") != std::string::npos)
        while (true) std::this_thread::sleep_for(std::chrono::seconds(1));
      run::TrialOutcome o;
      o.blocks_per_sm = 1;
      o.check = verify::VerifyResult{true, {}, {}, "ok: fake"};
      if (const char* bad = std::getenv("FAKE_WORKER_INCORRECT");
          bad != nullptr && *bad != '\0' && spec.label.find(bad) != std::string::npos) {
        o.status = TrialStatus::incorrect;
        o.check = verify::VerifyResult{false, {}, {}, "O differs: fake"};
        o.detail = "O differs: fake";
      }
      if (const char* bad = std::getenv("FAKE_WORKER_SANITIZER_ERROR");
          bad != nullptr && *bad != '\0' && spec.label.find(bad) != std::string::npos) {
        std::cerr
            << "========= Invalid __global__ write of size 2 bytes\n=========     at fake_kernel+0x40\n";
        sanitizer_errors += 1;
      }
      o.timing = gpu::summarize(std::vector<double>(5, fake_ms(spec.label)));
      if (std::getenv("FAKE_WORKER_NO_CLOCK") == nullptr) {
        o.timing->clock_fraction = spec.timing.throttle_threshold + 0.125;
        o.timing->throttle_repeats = spec.timing.throttle_retries;
      }
      reply["outcome"] = trial::to_json(o);
    } else if (op == "remeasure") {
      json samples = json::array();
      for (const json& s : req.at("specs"))
        samples.push_back(
            std::vector<double>(req.at("rounds").get<int>(), fake_ms(s.at("label").get<std::string>())));
      reply["samples"] = samples;
    } else if (op == "profile") {
      // Counters derived from the label; FAKE_WORKER_NO_COUNTERS=1 plays a machine without counter access.
      run::ProfileResult p;
      if (std::getenv("FAKE_WORKER_NO_COUNTERS") != nullptr) {
        p.why = "counters restricted (fake)";
      } else {
        const std::string label = req.at("spec").at("label").get<std::string>();
        p.available = true;
        if (req.value("utilization", false)) {
          p.extra["sm__throughput.avg.pct_of_peak_sustained_elapsed"] = 50;
        } else {
          p.dram_read_bytes = 1e6 * fake_ms(label);
          p.dram_write_bytes = 1e5;
          p.l2_bytes = 3e6;
          p.gpu_time_ns = 1e6 * fake_ms(label);
          p.extra["l1tex__m_xbar2l1tex_read_bytes.sum"] = 2e6;
        }
      }
      reply["profile"] = trial::to_json(p);
    } else {
      reply = json{{"ok", false}, {"error", "unknown op"}};
    }
    std::cout << reply.dump() << '\n' << std::flush;
  }
  if (std::getenv("FAKE_WORKER_SANITIZER_ERROR") != nullptr) {
    std::cerr << "========= ERROR SUMMARY: " << sanitizer_errors << " errors\n";
    if (sanitizer_errors > 0) return 86;
  }
  return 0;
}
