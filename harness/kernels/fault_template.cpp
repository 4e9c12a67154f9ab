// fault_inject as a KernelTemplate: TESTING ONLY (kernel_templates/testing/fault_inject.cuh). Each value of
// `fault` is one way a configuration goes wrong; 0 and 7 are correct fa2_fwd kernels, so that a sweep can
// show that good configurations after a bad one are unaffected.
#include <fmt/format.h>

#include "core/error.hpp"
#include "kernels/kernel_template.hpp"

namespace flashtune {
namespace {

constexpr int kOverAnySm = 233472 + 1024;  // fault 5: more dynamic shared memory than an H100 SM has

ParamValues fa2_params(std::int64_t fault) {
  return {{"block_m", fault == 7 ? 128 : 64}, {"block_n", 64}, {"stages", 2}, {"warps", 4}};
}

bool is_good(std::int64_t fault) {
  return fault == 0 || fault == 7;
}

class FaultTemplate final : public KernelTemplate {
 public:
  std::string_view id() const override { return "fault_inject"; }
  std::string_view source_file() const override { return "testing/fault_inject.cuh"; }
  std::string_view summary() const override {
    return "TESTING ONLY: `fault` selects a failure (out-of-bounds write, hang, wrong result, compile error, "
           "shared memory or registers over the limit); 0 and 7 are correct";
  }
  const std::vector<ParamSpec>& params() const override {
    static const std::vector<ParamSpec> specs = {
        {"fault", 0, 7, 0,
         "0/7 correct; 1 out-of-bounds write; 2 hang; 3 wrong result; 4 compile error; 5 shared memory over "
         "the "
         "limit; 6 too many registers"},
    };
    return specs;
  }
  std::optional<std::string> invalid_reason(const ParamValues& v, const ProblemVariant& pv) const override {
    if (auto bad = check_params(*this, v)) return bad;
    if (pv.head_dim != 64 && pv.head_dim != 128)
      return fmt::format("head_dim {} is not 64 or 128", pv.head_dim);
    return std::nullopt;  // fault 4 must reach NVRTC: its compile error is the point
  }
  std::string name_expression(const ParamValues& v, const ProblemVariant& pv) const override {
    const std::int64_t f = checked(v, pv);
    if (is_good(f)) return find_template("fa2_fwd").name_expression(fa2_params(f), pv);
    return fmt::format("flashtune::fault_inject<{}, {}, {}, {}>", f, pv.head_dim,
                       pv.causal ? "true" : "false", cuda_type_name(pv.dtype));
  }
  int smem_bytes(const ParamValues& v, const ProblemVariant& pv) const override {
    const std::int64_t f = checked(v, pv);
    if (is_good(f)) return find_template("fa2_fwd").smem_bytes(fa2_params(f), pv);
    return f == 5 ? kOverAnySm : 0;
  }
  KernelLaunch launch(const ParamValues& v, const AttentionProblem& p) const override {
    const std::int64_t f = checked(v, variant_of(p));
    if (is_good(f)) return find_template("fa2_fwd").launch(fa2_params(f), p);
    KernelLaunch l;
    l.threads = f == 6 ? 1024 : 256;
    l.grid[0] = 132 * 4;
    l.dynamic_smem = f == 5 ? kOverAnySm : 0;
    return l;
  }

 private:
  std::int64_t checked(const ParamValues& v, const ProblemVariant& pv) const {
    if (auto why = invalid_reason(v, pv))
      throw Error(ErrorKind::invalid_argument, fmt::format("fault_inject {}: {}", to_string(v), *why));
    return v.at("fault");
  }
};

}  // namespace

const KernelTemplate& fault_template() {
  static const FaultTemplate t;
  return t;
}

}  // namespace flashtune
