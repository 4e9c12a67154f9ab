#include "trial/worker_session.hpp"

namespace flashtune::trial {

WorkerSession start_trial_worker(const std::vector<std::string>& argv,
                                 const std::filesystem::path& cubin_dir) {
  WorkerSession s;
  s.argv = argv.empty() ? default_trial_worker_command() : argv;
  s.client = std::make_unique<TrialClient>(s.argv, cubin_dir);
  TrialClient::Hello h = s.client->hello();
  if (h.device) {
    s.device = *h.device;
    s.sm_clock_unavailable = h.sm_clock_unavailable;
  } else {
    s.no_gpu = h.no_gpu.empty() ? "no GPU" : h.no_gpu;
    s.client.reset();
  }
  return s;
}

}  // namespace flashtune::trial
