#include "run/problem_session.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

#include "verify/random_inputs.hpp"

namespace flashtune::run {

namespace {
// The backward pass needs dO and the gradients' buffers and its own references: not wired in yet.
void refuse_backward(const AttentionProblem& p) {
  if (p.pass == Pass::bwd)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("{}: the backward pass cannot be run or verified yet (fa2_bwd's kernels compile; "
                            "its buffers and references are the next step)",
                            p.to_string()));
}
}  // namespace

ProblemSession::ProblemSession(const AttentionProblem& problem, std::uint64_t seed, bool verify,
                               const std::string& arch)
    : buffers_((validate(problem), refuse_backward(problem), problem)), seed_(seed) {
  const verify::HostInputs inputs = verify::make_inputs(problem, seed);
  buffers_.upload(inputs);
  if (verify) reference_ = compute_reference(buffers_, inputs, seed, arch);
}

std::optional<verify::VerifyResult> ProblemSession::check() const {
  if (!reference_) return std::nullopt;
  return check_against(*reference_, buffers_);
}

}  // namespace flashtune::run
