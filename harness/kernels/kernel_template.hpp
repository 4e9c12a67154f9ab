#pragma once
// A kernel template as the tuner sees it: an id, a source file, its tunable parameters (names, bounds,
// defaults), and for one parameter set and one problem the instantiation (a name expression) and its launch
// facts. Parameter values are validated integers (check_params): they reach a kernel only as template
// arguments, never as pasted text. One implementation per template (fa2_template.cpp); find_template() is the
// catalog.
//
//   const KernelTemplate& t = find_template("fa2_fwd");
//   ParamValues v = {{"block_m", 128}, {"block_n", 64}, {"warps", 8}, {"stages", 2}};
//   if (auto why = t.invalid_reason(v, variant_of(problem))) ...;   // the template's static_asserts, on the
//   std::string expr = t.name_expression(v, variant_of(problem));
//   // "flashtune::fa2_fwd<flashtune::Fa2Traits<128, 64, ...>, false, __nv_bfloat16>"
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.hpp"
#include "core/problem.hpp"

namespace flashtune {

// Parameter name -> value. Ordered by name, so that its text and JSON forms are canonical.
using ParamValues = std::map<std::string, std::int64_t>;

struct ParamSpec {
  std::string name;
  std::int64_t min = 0;  // inclusive bounds: a value outside them is rejected before any compile
  std::int64_t max = 0;
  std::int64_t default_value = 0;
  std::string doc;
  // A parameter that is not required may be left out of a search space (and of ParamValues): it then takes
  // default_value. Parameters added to a template after its spaces were written are optional this way.
  bool required = true;
};

// The facts of a problem that are template arguments: one compiled kernel serves every problem that shares
// them.
struct ProblemVariant {
  int head_dim = 128;
  DType dtype = DType::bf16;
  bool causal = false;
  bool general = false;  // kv_heads < heads, seqlen_k != seqlen or the bshd layout: the general addressing
  bool window = false;
  bool softcap = false;
  bool varlen = false;  // layout thd: packed sequences of their own lengths (general too)
  bool block_sparse = false;
  friend auto operator<=>(const ProblemVariant&, const ProblemVariant&) = default;
  // The kernels' kVariant argument: bits 1 general, 2 window, 4 softcap, 8 varlen, 16 block-sparse; 0 for
  // the plain problem.
  int bits() const {
    return (general ? 1 : 0) | (window ? 2 : 0) | (softcap ? 4 : 0) | (varlen ? 8 : 0) |
           (block_sparse ? 16 : 0);
  }
};
ProblemVariant variant_of(const AttentionProblem& p);
// "d128 bf16 causal" (+ " general", " window", " softcap", " varlen", " sparse")
std::string to_string(const ProblemVariant& v);

// What a template's kernels run beyond the plain problem (core/problem.hpp), per configuration; the default
// is the plain problem at head_dim 64 and 128. A problem outside it is pruned with the reason
// (unsupported_reason), never compiled or run.
struct TemplateSupport {
  std::vector<int> head_dims{64, 128};
  bool grouped_heads = false;    // kv_heads < heads (GQA, MQA)
  bool unequal_lengths = false;  // seqlen_k != seqlen
  bool window = false;           // window_left / window_right
  bool softcap = false;
  std::vector<Layout> layouts{Layout::bhsd};
  std::vector<Pass> passes{Pass::fwd};  // the pass its kernels compute (fa2_bwd: the backward)
  // Block-sparse layouts whose block is a multiple of the configuration's query and key tiles (0: none).
  int sparse_tile_m = 0;
  int sparse_tile_n = 0;
};

struct KernelLaunch {
  unsigned grid[3] = {1, 1, 1};
  unsigned threads = 0;
  int dynamic_smem = 0;  // bytes
};

// A TMA tensor map a template's kernels take (sm_90 bulk tensor copies): one of the problem's tensors viewed
// as [batch*heads, seqlen, head_dim] (innermost last here, as in memory), read in boxes of box_rows rows x
// box_cols columns with a swizzle of swizzle_bytes (128, or 64 for boxes of 32 columns). Rows past seqlen
// read as zeros. The launcher builds the maps from its buffers and passes them, in order, as the kernel's
// second parameter (a struct of 128-byte maps).
struct TensorMapRequest {
  enum class Tensor { q, k, v, o };
  Tensor tensor = Tensor::q;
  int box_rows = 64;
  int box_cols = 64;
  int swizzle_bytes = 128;  // box_cols * 2 bytes must not exceed it
  friend bool operator==(const TensorMapRequest&, const TensorMapRequest&) = default;
};
std::string_view to_string(TensorMapRequest::Tensor t);  // "q"
// Throws Error(invalid_argument) for a name other than q, k, v, o.
TensorMapRequest::Tensor tensor_from_string(std::string_view name);

class KernelTemplate {
 public:
  virtual ~KernelTemplate() = default;

  virtual std::string_view id() const = 0;           // "fa2_fwd"
  virtual std::string_view source_file() const = 0;  // relative to kernel_template_dir(): "fa2_fwd.cuh"
  virtual std::string_view summary() const = 0;      // one line for people
  virtual const std::vector<ParamSpec>& params() const = 0;

  // Why (values, variant) would fail the template's static_asserts, or nullopt when it compiles. Expects
  // values that pass check_params().
  virtual std::optional<std::string> invalid_reason(const ParamValues& values,
                                                    const ProblemVariant& variant) const = 0;
  // What the kernels of configuration `values` run (TemplateSupport); the default is the plain problem.
  virtual TemplateSupport support(const ParamValues& values) const {
    (void)values;
    return {};
  }
  // The name expression NVRTC instantiates. Throws Error(invalid_argument) for values that fail
  // check_params() or invalid_reason().
  virtual std::string name_expression(const ParamValues& values, const ProblemVariant& variant) const = 0;
  // Dynamic shared memory of the instantiation, as the template's traits compute it.
  virtual int smem_bytes(const ParamValues& values, const ProblemVariant& variant) const = 0;
  // Grid, block and dynamic shared memory of a launch on `problem`.
  virtual KernelLaunch launch(const ParamValues& values, const AttentionProblem& problem) const = 0;

  // A template may be several kernels run in sequence on one stream (the standard algorithm: scores,
  // softmax, P·V). These give them in order: the name expressions (all compiled in one NVRTC program), their
  // launches, and the largest dynamic shared memory of any of them (the number a budget caps). The
  // defaults are the single kernel above.
  virtual std::vector<std::string> name_expressions(const ParamValues& values,
                                                    const ProblemVariant& variant) const {
    return {name_expression(values, variant)};
  }
  virtual std::vector<KernelLaunch> launches(const ParamValues& values,
                                             const AttentionProblem& problem) const {
    return {launch(values, problem)};
  }
  // The configuration to run on `variant` when nothing was tuned (the runtime's built-in default): each
  // parameter's default value unless the template knows better (the measured winners of its shipped space).
  virtual ParamValues default_config(const ProblemVariant& variant) const;
  // Why the template cannot be built for `arch` ("sm_90a"), or nullopt when it can (the default: any arch).
  virtual std::optional<std::string> unsupported_arch(std::string_view arch) const {
    (void)arch;
    return std::nullopt;
  }
  // The tensor maps the kernels take after AttentionParams (TensorMapRequest); none by default, and then the
  // kernels' one parameter is AttentionParams.
  virtual std::vector<TensorMapRequest> tensor_maps(const ParamValues& values,
                                                    const ProblemVariant& variant) const {
    (void)values;
    (void)variant;
    return {};
  }
  // Scratch device memory the kernels need (AttentionParams::workspace), in bytes; 0 for none.
  virtual std::size_t workspace_bytes(const ParamValues& values, const AttentionProblem& problem) const {
    (void)values;
    (void)problem;
    return 0;
  }

 protected:
  // Throws Error(invalid_argument) "<id> <values> (<variant>): <why>" when invalid_reason() has a reason:
  // the first step of every member that builds on the values.
  void require_valid(const ParamValues& values, const ProblemVariant& variant) const;
};

// The catalog. Throws Error(not_found) naming the known ids.
const KernelTemplate& find_template(std::string_view id);
std::vector<std::string> template_ids();

// Unknown names, missing names and values outside a parameter's bounds, as one message ("unknown parameter
// 'blok_m' (fa2_fwd has block_m, block_n, stages, warps)"); nullopt when every parameter is present and in
// bounds.
std::optional<std::string> check_params(const KernelTemplate& t, const ParamValues& values);

// values[name], or the parameter's default when an optional parameter is absent. Throws Error(not_found)
// for a name the template does not have.
std::int64_t param_or_default(const KernelTemplate& t, const ParamValues& values, std::string_view name);

// Why configuration `values` of `t` cannot run `p` ("fa2_fwd does not support grouped key/value heads
// (kv_heads 8 < heads 32)"), or nullopt when it can (TemplateSupport).
std::optional<std::string> unsupported_reason(const KernelTemplate& t, const ParamValues& values,
                                              const AttentionProblem& p);

// "block_m=128 block_n=64 stages=2 warps=8"
std::string to_string(const ParamValues& values);

}  // namespace flashtune
