#include "run/problem_session.hpp"

#include <vector>

#include "verify/random_inputs.hpp"

namespace flashtune::run {

ProblemSession::ProblemSession(const AttentionProblem& problem, std::uint64_t seed, bool verify,
                               const std::string& arch)
    : buffers_((validate(problem), problem)), seed_(seed) {
  const verify::HostInputs inputs = verify::make_inputs(problem, seed);
  buffers_.upload(inputs);
  if (problem.pass == Pass::bwd) {
    set_up_backward(inputs, verify, arch);
    return;
  }
  if (verify) reference_ = compute_reference(buffers_, inputs, seed, arch);
}

void ProblemSession::set_up_backward(const verify::HostInputs& inputs, bool verify, const std::string& arch) {
  const std::vector<std::uint16_t> d_o = verify::make_d_o(problem(), seed_);
  buffers_.upload_d_o(d_o);
  const ForwardState fwd = compute_forward_state(buffers_, inputs, arch);
  buffers_.upload_forward(fwd.o, fwd.lse);
  forward_source_ = fwd.source;
  if (verify) gradient_reference_ = compute_backward_reference(buffers_, inputs, d_o, fwd, seed_, arch);
}

std::optional<verify::VerifyResult> ProblemSession::check() const {
  if (gradient_reference_) return check_backward(*gradient_reference_, buffers_);
  if (reference_) return check_against(*reference_, buffers_);
  return std::nullopt;
}

std::string ProblemSession::reference_source() const {
  if (gradient_reference_) return gradient_reference_->source;
  return reference_ ? reference_->source : "none";
}

}  // namespace flashtune::run
