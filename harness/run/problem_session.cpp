#include "run/problem_session.hpp"

#include "verify/random_inputs.hpp"

namespace flashtune::run {

ProblemSession::ProblemSession(const AttentionProblem& problem, std::uint64_t seed, bool verify,
                               const std::string& arch)
    : buffers_((validate(problem), problem)), seed_(seed) {
  const verify::HostInputs inputs = verify::make_inputs(problem, seed);
  buffers_.upload(inputs);
  if (verify) reference_ = compute_reference(buffers_, inputs, seed, arch);
}

std::optional<verify::VerifyResult> ProblemSession::check() const {
  if (!reference_) return std::nullopt;
  return check_against(*reference_, buffers_);
}

}  // namespace flashtune::run
