// flashtune._flashtune: the C++ side of the Python package (python/src/flashtune/ is the public API;
// docs/python.md).
//
//   _attention_dlpack(q, k, v, causal, scale, return_lse, template, stream)   any framework, through DLPack
//   _attention_torch(q, k, v, o, lse, causal, scale, template)             torch tensors, read directly
//   _attention_desc(qd, kd, vd, o, lse, causal, scale, template, stream)     tensors described by their
//   fields _check(qd, kd, vd, causal, scale, template)                              the same checks, no GPU
//   needed _choice, _best_config, _info, _bench_runtime, _runtime_templates
//   _attention_backward_desc(d_o, q, k, v, o, lse, d_q, d_k, d_v, causal, scale, stream)   the gradients
//   (autograd), described tensors; _check_backward(d_o, q, k, v, o, lse, causal, scale): its checks alone
//
// The attention calls end with the variant options (window_left, window_right, softcap), the varlen ones
// (cu_seqlens_q, cu_seqlens_k: tensors, descriptions for _attention_desc and _check, or None; max_seqlen_q,
// max_seqlen_k: -1 when not given) and the block-sparse ones (sparse_counts, sparse_cols: tensors or
// descriptions as the cu_seqlens, or None; sparse_block, sparse_density: flashtune.BlockSparse's), all with
// defaults.
//
// A tensor description ("desc") is the tuple (data pointer, shape, strides in elements, dtype name, device
// type name, device index), as flashtune/_torch_op.py builds it from a torch.Tensor.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>
#include <tuple>
#include <utility>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "gpu/context.hpp"
#include "gpu/device_buffer.hpp"
#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"
#include "gpu/sm_clock.hpp"
#include "jit/nvrtc_program.hpp"
#include "process_runtime.hpp"
#include "runtime/best_config.hpp"
#include "runtime/runtime.hpp"
#include "runtime/selection.hpp"
#include "store/result_store.hpp"
#include "tensor_check.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace flashtune::python {
namespace {

using Desc = std::tuple<std::uintptr_t, std::vector<std::int64_t>, std::vector<std::int64_t>, std::string,
                        std::string, int>;

TensorDesc desc_of(const Desc& d) {
  return {std::get<0>(d), std::get<1>(d), std::get<2>(d), std::get<3>(d), std::get<4>(d), std::get<5>(d)};
}

// ---- exceptions: flashtune._errors defines the classes (docs/python.md, Exceptions)

const char* class_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_argument:
      return "InvalidArgumentError";
    case ErrorKind::not_found:
      return "NotFoundError";
    case ErrorKind::no_gpu:
      return "NoGpuError";
    case ErrorKind::driver:
      return "DriverError";
    case ErrorKind::compile:
      return "CompileError";
    default:
      return "Error";
  }
}

const char* class_of(ArgumentError::Type type) {
  switch (type) {
    case ArgumentError::Type::type:
      return "ArgumentTypeError";
    case ArgumentError::Type::device:
      return "DeviceError";
    default:
      return "InvalidArgumentError";
  }
}

// Raises flashtune._errors.<name>(what) with .kind and .argument set. Never throws.
void raise(const char* name, std::string_view kind, const std::string& argument, const char* what) noexcept {
  try {
    nb::object cls = nb::module_::import_("flashtune._errors").attr(name);
    nb::object exc = cls(nb::str(what));
    exc.attr("kind") = nb::str(kind.data(), kind.size());
    exc.attr("argument") = argument.empty() ? nb::none() : nb::object(nb::str(argument.c_str()));
    PyErr_SetObject(cls.ptr(), exc.ptr());
  } catch (...) {
    PyErr_SetString(PyExc_RuntimeError, what);
  }
}

void translate(const std::exception_ptr& p, void*) {
  try {
    std::rethrow_exception(p);
  } catch (const ArgumentError& e) {
    raise(class_of(e.type()), "invalid_argument", e.argument(), e.what());
  } catch (const Error& e) {
    raise(class_of(e.kind()), to_string(e.kind()), "", e.what());
  }
}

// ---- outputs allocated for frameworks other than torch

// Device memory that the returned array owns: freed in its device's primary context, whichever thread drops
// the last reference.
struct DeviceAllocation {
  int ordinal = 0;
  gpu::DeviceBuffer buffer;
  DeviceAllocation(int device, std::size_t bytes) : ordinal(device), buffer(bytes) {}
  DeviceAllocation(const DeviceAllocation&) = delete;
  DeviceAllocation& operator=(const DeviceAllocation&) = delete;
  ~DeviceAllocation() {
    try {
      const PrimaryContext& c = primary_context(ordinal);
      const gpu::ContextScope scope(c.context, c.id);
      if (scope.ok()) {
        gpu::DeviceBuffer freed = std::move(buffer);
        return;
      }
    } catch (...) {
    }
    static_cast<void>(new gpu::DeviceBuffer(std::move(buffer)));  // no context: leave it to the driver
  }
};

nb::object as_array(std::unique_ptr<DeviceAllocation> a, std::vector<std::size_t> shape,
                    nb::dlpack::dtype dt) {
  void* data = reinterpret_cast<void*>(a->buffer.ptr());
  const int device = a->ordinal;
  nb::capsule owner(a.release(), [](void* p) noexcept { delete static_cast<DeviceAllocation*>(p); });
  nb::ndarray<> array(data, shape.size(), shape.data(), owner, nullptr, dt, nb::device::cuda::value, device);
  return nb::cast(array);
}

// ---- DLPack

std::string dtype_name(nb::dlpack::dtype d) {
  std::string base;
  switch (static_cast<nb::dlpack::dtype_code>(d.code)) {
    case nb::dlpack::dtype_code::Int:
      base = "int";
      break;
    case nb::dlpack::dtype_code::UInt:
      base = "uint";
      break;
    case nb::dlpack::dtype_code::Float:
      base = "float";
      break;
    case nb::dlpack::dtype_code::Bfloat:
      base = "bfloat";
      break;
    case nb::dlpack::dtype_code::Complex:
      base = "complex";
      break;
    case nb::dlpack::dtype_code::Bool:
      return "bool";
    default:
      base = "dlpack_code" + std::to_string(d.code) + "_";
  }
  std::string name = base + std::to_string(d.bits);
  if (d.lanes != 1) name += "x" + std::to_string(d.lanes);
  return name;
}

std::string device_name(int type) {
  switch (type) {
    case nb::device::cpu::value:
      return "cpu";
    case nb::device::cuda::value:
      return "cuda";
    case nb::device::cuda_host::value:
      return "cuda_host (pinned host memory)";
    case nb::device::cuda_managed::value:
      return "cuda_managed (managed memory)";
    case nb::device::rocm::value:
      return "rocm";
    case nb::device::metal::value:
      return "metal";
    default:
      return "DLPack device type " + std::to_string(type);
  }
}

TensorDesc desc_of(nb::handle obj, const char* name, nb::ndarray<nb::ro>& keep) {
  if (!nb::try_cast(obj, keep, false))
    throw ArgumentError(ArgumentError::Type::type, name,
                        "expected a tensor that exports DLPack (torch, cupy, jax, numpy, ...), got " +
                            std::string(nb::type_name(obj.type()).c_str()));
  TensorDesc d;
  d.data = reinterpret_cast<std::uintptr_t>(keep.data());
  for (std::size_t i = 0; i < keep.ndim(); ++i) {
    d.shape.push_back(static_cast<std::int64_t>(keep.shape(i)));
    d.strides.push_back(keep.stride(i));
  }
  d.dtype = dtype_name(keep.dtype());
  d.device = device_name(keep.device_type());
  d.device_id = keep.device_id();
  return d;
}

CUstream_st* stream_of(std::uintptr_t s) {
  return reinterpret_cast<CUstream_st*>(s);
}

std::array<std::int64_t, 4> array4(const std::vector<std::int64_t>& v) {
  return {v[0], v[1], v[2], v[3]};
}

runtime::TensorArg arg_of(const TensorDesc& t) {
  return {reinterpret_cast<const void*>(t.data), array4(t.shape), array4(t.strides)};
}

// The strides of [total, heads, head_dim] `s` as the runtime takes the tensor, the [1, heads, total,
// head_dim] view: {batch, head, row, 1}. The batch stride is any valid one (an extent of 1: never used).
runtime::Strides varlen_strides(const std::vector<std::int64_t>& s, std::int64_t total) {
  return {std::max<std::int64_t>(total, 1) * s[0], s[1], s[0], 1};
}

// A varlen tensor [total, heads, head_dim] as the runtime's TensorArg.
runtime::TensorArg varlen_arg_of(const TensorDesc& t) {
  return {reinterpret_cast<const void*>(t.data),
          {1, t.shape[1], t.shape[0], t.shape[2]},
          varlen_strides(t.strides, t.shape[0])};
}

// Contiguous strides of a tensor of `shape`, in elements.
std::vector<std::int64_t> dense(const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> s(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

// The runtime's call for checked tensors (check_metadata gave `p`; with varlen, the same VarlenDesc): their
// shapes and strides, the options; o of q's shape, contiguous unless o_strides are given (varlen: o's 3).
runtime::AttentionCall call_of(const TensorDesc& q, const TensorDesc& k, const TensorDesc& v,
                               const AttentionProblem& p, std::uintptr_t o, std::uintptr_t lse,
                               const std::optional<std::vector<std::int64_t>>& o_strides = std::nullopt,
                               const VarlenDesc* varlen = nullptr, const SparseDesc* sparse = nullptr) {
  runtime::AttentionCall c;
  if (varlen != nullptr) {
    c.q = varlen_arg_of(q);
    c.k = varlen_arg_of(k);
    c.v = varlen_arg_of(v);
    c.o_strides =
        varlen_strides(o_strides && o_strides->size() == 3 ? *o_strides : dense(q.shape), q.shape[0]);
    c.varlen = runtime::VarlenArgs{.cu_seqlens_q = reinterpret_cast<const int*>(varlen->cu_seqlens_q.data),
                                   .cu_seqlens_k = reinterpret_cast<const int*>(varlen->cu_seqlens_k.data),
                                   .batch = p.batch,
                                   .max_seqlen_q = p.seqlen,
                                   .max_seqlen_k = p.keys()};
  } else {
    c.q = arg_of(q);
    c.k = arg_of(k);
    c.v = arg_of(v);
    if (o_strides && o_strides->size() == 4) c.o_strides = array4(*o_strides);
  }
  c.o = reinterpret_cast<void*>(o);
  c.lse = reinterpret_cast<float*>(lse);
  c.dtype = p.dtype;
  c.causal = p.causal;
  c.scale = p.softmax_scale;
  c.window_left = p.window_left;
  c.window_right = p.window_right;
  c.softcap = p.softcap;
  if (sparse != nullptr)
    c.block_sparse = runtime::BlockSparseArgs{.counts = reinterpret_cast<const int*>(sparse->counts.data),
                                              .cols = reinterpret_cast<const int*>(sparse->cols.data),
                                              .block = p.sparse_block,
                                              .rows = static_cast<int>(sparse->counts.shape[0]),
                                              .cols_per_row = static_cast<int>(sparse->cols.shape[1]),
                                              .density = p.sparse_density};
  return c;
}

// The block-sparse lists of a call: both, or neither (flashtune.attention passes a BlockSparse's).
template <typename T, typename DescOf>
std::optional<SparseDesc> sparse_of(const std::optional<T>& counts, const std::optional<T>& cols,
                                    std::int64_t block, double density, DescOf desc) {
  if (!counts && !cols) return std::nullopt;
  if (!counts || !cols)
    throw ArgumentError(ArgumentError::Type::value, "block_sparse",
                        std::string(counts ? "cols" : "counts") +
                            " is None while the other list is given: a layout needs both");
  return SparseDesc{desc(*counts, "counts"), desc(*cols, "cols"), block, density};
}

std::optional<nb::handle> given(nb::handle h) {
  return h.is_none() ? std::nullopt : std::optional<nb::handle>(h);
}

CallOptions options_of(bool causal, std::optional<double> scale, const std::optional<std::string>& tmpl,
                       int window_left = -1, int window_right = -1, double softcap = 0) {
  return {causal, scale, tmpl.value_or(""), window_left, window_right, softcap};
}

// A launch needs the max_seqlens: the torch side reads what the caller left out from the cu_seqlens; other
// frameworks must pass them (flashtune reads no device memory of theirs).
void require_max_seqlens(const VarlenDesc* varlen, const char* why) {
  if (varlen == nullptr) return;
  for (const auto& [given, name] :
       {std::pair{varlen->max_seqlen_q, "max_seqlen_q"}, std::pair{varlen->max_seqlen_k, "max_seqlen_k"}})
    if (given == VarlenDesc::kUnknown) throw ArgumentError(ArgumentError::Type::value, name, why);
}

nb::object attention_dlpack(nb::handle q, nb::handle k, nb::handle v, bool causal,
                            std::optional<double> scale, bool return_lse,
                            const std::optional<std::string>& tmpl, std::uintptr_t stream, int window_left,
                            int window_right, double softcap, nb::handle cu_seqlens_q,
                            nb::handle cu_seqlens_k, std::int64_t max_seqlen_q, std::int64_t max_seqlen_k,
                            nb::handle sparse_counts, nb::handle sparse_cols, std::int64_t sparse_block,
                            double sparse_density) {
  nb::ndarray<nb::ro> qa, ka, va, cqa, cka, sca, sla;
  const TensorDesc qd = desc_of(q, "q", qa), kd = desc_of(k, "k", ka), vd = desc_of(v, "v", va);
  std::optional<VarlenDesc> varlen;
  if (!cu_seqlens_q.is_none() || !cu_seqlens_k.is_none())
    varlen = VarlenDesc{desc_of(cu_seqlens_q, "cu_seqlens_q", cqa),
                        desc_of(cu_seqlens_k, "cu_seqlens_k", cka), max_seqlen_q, max_seqlen_k};
  const VarlenDesc* vl = varlen ? &*varlen : nullptr;
  const std::optional<SparseDesc> sparse =
      sparse_of(given(sparse_counts), given(sparse_cols), sparse_block, sparse_density,
                [&](nb::handle h, const char* name) {
                  return desc_of(h, "block_sparse", std::string_view(name) == "counts" ? sca : sla);
                });
  const SparseDesc* sp = sparse ? &*sparse : nullptr;
  const CallOptions options = options_of(causal, scale, tmpl, window_left, window_right, softcap);
  const AttentionProblem p = check_metadata(qd, kd, vd, options, vl, sp);
  require_max_seqlens(vl,
                      "None needs torch tensors (flashtune reads their cu_seqlens on the host); with other "
                      "frameworks pass the longest sequence's length (or an upper bound)");
  const int device = check_devices(qd, kd, vd, vl, sp);
  std::unique_ptr<DeviceAllocation> o, lse;
  // Varlen: O [total_q, heads, head_dim] contiguous, LSE [heads, total_q]; else O as q, LSE [batch, heads,
  // n].
  const std::size_t rows = vl != nullptr ? static_cast<std::size_t>(qd.shape[0] * qd.shape[1])
                                         : static_cast<std::size_t>(p.rows());
  {
    nb::gil_scoped_release release;
    const DeviceScope scope(device);
    o = std::make_unique<DeviceAllocation>(device, rows * p.head_dim * element_bytes(p.dtype));
    if (return_lse) lse = std::make_unique<DeviceAllocation>(device, rows * sizeof(float));
    const runtime::AttentionCall c =
        call_of(qd, kd, vd, p, o->buffer.ptr(), lse ? lse->buffer.ptr() : 0, std::nullopt, vl, sp);
    runtime_for(options.template_id).attention(c, stream_of(stream));
  }
  const auto b = static_cast<std::size_t>(p.batch), h = static_cast<std::size_t>(p.heads),
             n = static_cast<std::size_t>(p.seqlen), d = static_cast<std::size_t>(p.head_dim);
  const nb::dlpack::dtype dt{
      static_cast<std::uint8_t>(p.dtype == DType::bf16 ? nb::dlpack::dtype_code::Bfloat
                                                       : nb::dlpack::dtype_code::Float),
      16, 1};
  if (vl != nullptr) {
    const auto total = static_cast<std::size_t>(qd.shape[0]);
    nb::object out = as_array(std::move(o), {total, h, d}, dt);
    if (!return_lse) return out;
    return nb::make_tuple(out, as_array(std::move(lse), {h, total}, nb::dtype<float>()));
  }
  nb::object out = as_array(std::move(o), {b, h, n, d}, dt);
  if (!return_lse) return out;
  return nb::make_tuple(out, as_array(std::move(lse), {b, h, n}, nb::dtype<float>()));
}

// Launches the checked call (check_metadata gave `p`, check_devices `device`) with the GIL released.
void launch(const TensorDesc& q, const TensorDesc& k, const TensorDesc& v, const AttentionProblem& p,
            const CallOptions& options, int device, std::uintptr_t o, std::uintptr_t lse,
            std::uintptr_t stream, const std::optional<std::vector<std::int64_t>>& o_strides,
            const VarlenDesc* varlen = nullptr, const SparseDesc* sparse = nullptr) {
  nb::gil_scoped_release release;
  const DeviceScope scope(device);
  const runtime::AttentionCall c = call_of(q, k, v, p, o, lse, o_strides, varlen, sparse);
  runtime_for(options.template_id).attention(c, stream_of(stream));
}

// ---- torch tensors, read directly

// What _torch_op hands over once (_torch_init): torch's 16-bit dtypes, compared by identity, and its current
// raw stream function. Never freed: Python objects must not be released after the interpreter finalizes.
struct TorchHooks {
  nb::object bf16, f16, raw_stream;
};
TorchHooks* torch_hooks = nullptr;

void torch_init(nb::object bf16, nb::object f16, nb::object raw_stream) {
  if (torch_hooks == nullptr)
    torch_hooks = new TorchHooks{std::move(bf16), std::move(f16), std::move(raw_stream)};
}

std::vector<std::int64_t> int_list(const nb::object& seq) {
  std::vector<std::int64_t> out;
  for (nb::handle x : seq) out.push_back(nb::cast<std::int64_t>(x));
  return out;
}

// A torch.Tensor's description, from its attributes (no Python-side tuples): the fast path of the eager call.
TensorDesc torch_desc(nb::handle t) {
  TensorDesc d;
  d.data = nb::cast<std::uintptr_t>(t.attr("data_ptr")());
  d.shape = int_list(t.attr("shape"));
  d.strides = int_list(t.attr("stride")());
  const nb::object dt = t.attr("dtype");
  if (dt.is(torch_hooks->bf16)) {
    d.dtype = "bfloat16";
  } else if (dt.is(torch_hooks->f16)) {
    d.dtype = "float16";
  } else {
    d.dtype = nb::cast<std::string>(nb::str(dt));  // "torch.float32": refused by check_metadata
    if (d.dtype.rfind("torch.", 0) == 0) d.dtype.erase(0, 6);
  }
  if (nb::cast<bool>(t.attr("is_cuda"))) {
    d.device = "cuda";
    d.device_id = nb::cast<int>(t.attr("get_device")());
  } else {
    d.device = nb::cast<std::string>(t.attr("device").attr("type"));
  }
  return d;
}

// flashtune.attention's eager path for torch tensors: q, k, v torch.Tensors, o (and lse, or None) allocated
// by the caller; runs on torch's current stream of q's device.
constexpr const char* kTorchMaxSeqlens =
    "None: flashtune reads the cu_seqlens on the host first (flashtune/_torch_op.py), which did not happen";

// flashtune.attention's eager path for torch tensors: q, k, v torch.Tensors, o (and lse, or None) allocated
// by the caller; runs on torch's current stream of q's device. Varlen: the cu_seqlens torch.Tensors (both, or
// None) and the max_seqlens (VarlenDesc::kUnknown: not given; _torch_op reads them before this call).
void attention_torch(nb::handle q, nb::handle k, nb::handle v, nb::handle o, nb::handle lse, bool causal,
                     std::optional<double> scale, const std::optional<std::string>& tmpl, int window_left,
                     int window_right, double softcap, nb::handle cu_seqlens_q, nb::handle cu_seqlens_k,
                     std::int64_t max_seqlen_q, std::int64_t max_seqlen_k, nb::handle sparse_counts,
                     nb::handle sparse_cols, std::int64_t sparse_block, double sparse_density) {
  if (torch_hooks == nullptr) throw Error(ErrorKind::internal, "_attention_torch before _torch_init");
  const TensorDesc qd = torch_desc(q), kd = torch_desc(k), vd = torch_desc(v);
  std::optional<VarlenDesc> varlen;
  if (!cu_seqlens_q.is_none() || !cu_seqlens_k.is_none()) {
    if (cu_seqlens_q.is_none() || cu_seqlens_k.is_none())
      throw ArgumentError(ArgumentError::Type::value,
                          cu_seqlens_q.is_none() ? "cu_seqlens_q" : "cu_seqlens_k",
                          "None while the other cu_seqlens is given: variable lengths need both");
    varlen = VarlenDesc{torch_desc(cu_seqlens_q), torch_desc(cu_seqlens_k), max_seqlen_q, max_seqlen_k};
  }
  const VarlenDesc* vl = varlen ? &*varlen : nullptr;
  const std::optional<SparseDesc> sparse =
      sparse_of(given(sparse_counts), given(sparse_cols), sparse_block, sparse_density,
                [](nb::handle h, const char*) { return torch_desc(h); });
  const SparseDesc* sp = sparse ? &*sparse : nullptr;
  const CallOptions options = options_of(causal, scale, tmpl, window_left, window_right, softcap);
  const AttentionProblem p = check_metadata(qd, kd, vd, options, vl, sp);
  const int device = check_devices(qd, kd, vd, vl, sp);
  require_max_seqlens(vl, kTorchMaxSeqlens);
  const auto stream = nb::cast<std::uintptr_t>(torch_hooks->raw_stream(device));
  const auto o_ptr = nb::cast<std::uintptr_t>(o.attr("data_ptr")());
  const std::uintptr_t lse_ptr = lse.is_none() ? 0 : nb::cast<std::uintptr_t>(lse.attr("data_ptr")());
  launch(qd, kd, vd, p, options, device, o_ptr, lse_ptr, stream, int_list(o.attr("stride")()), vl, sp);
}

// ---- described tensors (torch)

std::optional<VarlenDesc> varlen_of(const std::optional<Desc>& cu_seqlens_q,
                                    const std::optional<Desc>& cu_seqlens_k, std::int64_t max_seqlen_q,
                                    std::int64_t max_seqlen_k) {
  if (!cu_seqlens_q && !cu_seqlens_k) return std::nullopt;
  if (!cu_seqlens_q || !cu_seqlens_k)
    throw ArgumentError(ArgumentError::Type::value, cu_seqlens_q ? "cu_seqlens_k" : "cu_seqlens_q",
                        "None while the other cu_seqlens is given: variable lengths need both (the keys' "
                        "prefix sums may be the queries' tensor)");
  return VarlenDesc{desc_of(*cu_seqlens_q), desc_of(*cu_seqlens_k), max_seqlen_q, max_seqlen_k};
}

void attention_desc(const Desc& q, const Desc& k, const Desc& v, std::uintptr_t o, std::uintptr_t lse,
                    bool causal, std::optional<double> scale, const std::optional<std::string>& tmpl,
                    std::uintptr_t stream, int window_left, int window_right, double softcap,
                    const std::optional<std::vector<std::int64_t>>& o_strides,
                    const std::optional<Desc>& cu_seqlens_q, const std::optional<Desc>& cu_seqlens_k,
                    std::int64_t max_seqlen_q, std::int64_t max_seqlen_k,
                    const std::optional<Desc>& sparse_counts, const std::optional<Desc>& sparse_cols,
                    std::int64_t sparse_block, double sparse_density) {
  const TensorDesc qd = desc_of(q), kd = desc_of(k), vd = desc_of(v);
  const std::optional<VarlenDesc> varlen = varlen_of(cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k);
  const VarlenDesc* vl = varlen ? &*varlen : nullptr;
  const std::optional<SparseDesc> sparse = sparse_of(sparse_counts, sparse_cols, sparse_block, sparse_density,
                                                     [](const Desc& d, const char*) { return desc_of(d); });
  const SparseDesc* sp = sparse ? &*sparse : nullptr;
  const CallOptions options = options_of(causal, scale, tmpl, window_left, window_right, softcap);
  const AttentionProblem p = check_metadata(qd, kd, vd, options, vl, sp);
  const int device = check_devices(qd, kd, vd, vl, sp);
  require_max_seqlens(vl, kTorchMaxSeqlens);
  launch(qd, kd, vd, p, options, device, o, lse, stream, o_strides, vl, sp);
}

void check_desc(const Desc& q, const Desc& k, const Desc& v, bool causal, std::optional<double> scale,
                const std::optional<std::string>& tmpl, int window_left, int window_right, double softcap,
                const std::optional<Desc>& cu_seqlens_q, const std::optional<Desc>& cu_seqlens_k,
                std::int64_t max_seqlen_q, std::int64_t max_seqlen_k,
                const std::optional<Desc>& sparse_counts, const std::optional<Desc>& sparse_cols,
                std::int64_t sparse_block, double sparse_density) {
  const std::optional<VarlenDesc> varlen = varlen_of(cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k);
  const std::optional<SparseDesc> sparse = sparse_of(sparse_counts, sparse_cols, sparse_block, sparse_density,
                                                     [](const Desc& d, const char*) { return desc_of(d); });
  (void)check_metadata(desc_of(q), desc_of(k), desc_of(v),
                       options_of(causal, scale, tmpl, window_left, window_right, softcap),
                       varlen ? &*varlen : nullptr, sparse ? &*sparse : nullptr);
}

// ---- the backward (flashtune/_torch_op.py's autograd: fixed lengths, torch tensors described)

// The gradients d_q, d_k, d_v (allocated by the caller, shaped and laid out as q, k, v) of the forward call
// of q, k, v that gave o and lse, given d_o (laid out as o), on `stream`.
void attention_backward_desc(const Desc& d_o, const Desc& q, const Desc& k, const Desc& v, const Desc& o,
                             const Desc& lse, const Desc& d_q, const Desc& d_k, const Desc& d_v, bool causal,
                             std::optional<double> scale, std::uintptr_t stream, int window_left,
                             int window_right, double softcap) {
  const TensorDesc qd = desc_of(q), kd = desc_of(k), vd = desc_of(v), od = desc_of(o), lsed = desc_of(lse),
                   dod = desc_of(d_o), dqd = desc_of(d_q), dkd = desc_of(d_k), dvd = desc_of(d_v);
  const CallOptions options = options_of(causal, scale, std::nullopt, window_left, window_right, softcap);
  const AttentionProblem p = check_backward_metadata(qd, kd, vd, od, lsed, dod, options);
  for (const auto& [g, t, name] :
       {std::tuple{&dqd, &qd, "d_q"}, std::tuple{&dkd, &kd, "d_k"}, std::tuple{&dvd, &vd, "d_v"}})
    if (g->shape != t->shape || g->dtype != t->dtype || g->strides.size() != 4)
      throw ArgumentError(ArgumentError::Type::value, name,
                          "must have the shape and dtype of its tensor, " + shape_text(t->shape) + " " +
                              t->dtype + " (got " + shape_text(g->shape) + " " + g->dtype + ")");
  const int device = check_devices(qd, kd, vd);
  check_same_device(qd, {&od, &lsed, &dod, &dqd, &dkd, &dvd}, {"o", "lse", "d_o", "d_q", "d_k", "d_v"});
  nb::gil_scoped_release release;
  const DeviceScope scope(device);
  runtime::AttentionBackwardCall b;
  b.forward = call_of(qd, kd, vd, p, od.data, lsed.data, od.strides);
  b.d_o = reinterpret_cast<const void*>(dod.data);
  b.d_o_strides = array4(dod.strides);
  b.d_q = reinterpret_cast<void*>(dqd.data);
  b.d_q_strides = array4(dqd.strides);
  b.d_k = reinterpret_cast<void*>(dkd.data);
  b.d_k_strides = array4(dkd.strides);
  b.d_v = reinterpret_cast<void*>(dvd.data);
  b.d_v_strides = array4(dvd.strides);
  runtime_for("").attention_backward(b, stream_of(stream));
}

// The backward's checks alone (the fake implementation of the backward op): no GPU needed.
void check_backward_desc(const Desc& d_o, const Desc& q, const Desc& k, const Desc& v, const Desc& o,
                         const Desc& lse, bool causal, std::optional<double> scale, int window_left,
                         int window_right, double softcap) {
  (void)check_backward_metadata(desc_of(q), desc_of(k), desc_of(v), desc_of(o), desc_of(lse), desc_of(d_o),
                                options_of(causal, scale, std::nullopt, window_left, window_right, softcap));
}

// Host wall time per call of Runtime::attention on one problem, `calls` calls queued back to back and one
// synchronize at the end (after one untimed call that compiles and loads): the C++ floor under the Python
// call's overhead. Microseconds.
double bench_runtime(const Desc& q, const Desc& k, const Desc& v, std::uintptr_t o, std::uintptr_t lse,
                     bool causal, const std::optional<std::string>& tmpl, std::uintptr_t stream, int calls) {
  const TensorDesc qd = desc_of(q), kd = desc_of(k), vd = desc_of(v);
  const CallOptions options = options_of(causal, std::nullopt, tmpl);
  const AttentionProblem p = check_metadata(qd, kd, vd, options);
  const int device = check_devices(qd, kd, vd);
  if (calls < 1) throw ArgumentError(ArgumentError::Type::value, "calls", "must be at least 1");
  nb::gil_scoped_release release;
  const DeviceScope scope(device);
  const runtime::AttentionCall c = call_of(qd, kd, vd, p, o, lse);
  runtime::Runtime& rt = runtime_for(options.template_id);
  rt.attention(c, stream_of(stream));
  gpu::Context::synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) rt.attention(c, stream_of(stream));
  gpu::Context::synchronize();
  const std::chrono::duration<double, std::micro> dt = std::chrono::steady_clock::now() - t0;
  return dt.count() / calls;
}

// ---- problems: choice, best_config

AttentionProblem problem_of(int batch, int heads, int seqlen, int head_dim, const std::string& dtype,
                            bool causal) {
  AttentionProblem p;
  p.batch = batch;
  p.heads = heads;
  p.seqlen = seqlen;
  p.head_dim = head_dim;
  const std::optional<DType> t = parse_dtype(dtype);
  if (!t)
    throw ArgumentError(ArgumentError::Type::type, "dtype",
                        "'" + dtype + "' is not supported (bfloat16/bf16 or float16/fp16)");
  p.dtype = *t;
  p.causal = causal;
  validate(p);
  return p;
}

nb::dict choice(int batch, int heads, int seqlen, int head_dim, const std::string& dtype, bool causal,
                const std::optional<std::string>& tmpl, int device) {
  const AttentionProblem p = problem_of(batch, heads, seqlen, head_dim, dtype, causal);
  check_template(tmpl.value_or(""));
  runtime::Selected s;
  {
    nb::gil_scoped_release release;
    const DeviceScope scope(device);
    s = runtime_for(tmpl.value_or("")).choice(p);
  }
  nb::dict d;
  d["template"] = s.template_id;
  d["params"] = s.params;
  d["source"] = s.source;
  d["kernel"] = s.kernel;
  d["why"] = s.why;
  return d;
}

GpuIdentity identity_of(const nb::dict& g) {
  GpuIdentity id;
  auto get = [&](const char* key) {
    if (!g.contains(key))
      throw ArgumentError(ArgumentError::Type::value, "gpu",
                          std::string("missing '") + key +
                              "' (name, cc_major, cc_minor, sm_count, smem_optin_per_block, l2_bytes, "
                              "driver_version; info()['gpus'][i]['identity'] has them)");
    return g[key];
  };
  id.name = nb::cast<std::string>(get("name"));
  id.cc_major = nb::cast<int>(get("cc_major"));
  id.cc_minor = nb::cast<int>(get("cc_minor"));
  id.sm_count = nb::cast<int>(get("sm_count"));
  id.smem_optin_per_block = nb::cast<int>(get("smem_optin_per_block"));
  id.l2_bytes = nb::cast<long long>(get("l2_bytes"));
  id.driver_version = nb::cast<int>(get("driver_version"));
  return id;
}

nb::dict identity_dict(const GpuIdentity& id) {
  nb::dict d;
  d["name"] = id.name;
  d["cc_major"] = id.cc_major;
  d["cc_minor"] = id.cc_minor;
  d["sm_count"] = id.sm_count;
  d["smem_optin_per_block"] = id.smem_optin_per_block;
  d["l2_bytes"] = id.l2_bytes;
  d["driver_version"] = id.driver_version;
  return d;
}

nb::object best_config(int batch, int heads, int seqlen, int head_dim, const std::string& dtype, bool causal,
                       const std::string& tmpl, std::int64_t smem_budget, const std::string& db,
                       const std::optional<nb::dict>& gpu) {
  const AttentionProblem p = problem_of(batch, heads, seqlen, head_dim, dtype, causal);
  (void)find_template(tmpl);  // Error(not_found) naming the known ones
  if (smem_budget < 0) throw ArgumentError(ArgumentError::Type::value, "smem_budget", "must be >= 0");
  runtime::BestConfigQuery q;
  q.template_id = tmpl;
  q.smem_budget = smem_budget;
  q.db = db;
  std::optional<GpuIdentity> id;
  if (gpu) id = identity_of(*gpu);
  std::optional<store::BestEntry> e;
  {
    nb::gil_scoped_release release;
    e = id ? runtime::best_config(p, *id, q) : runtime::best_config(p, q);
  }
  if (!e) return nb::none();
  nb::dict d;
  d["template"] = e->key.template_id;
  d["params"] = e->params;
  d["median_ms"] = e->median_ms;
  d["tflops"] = e->tflops;
  d["key"] = e->key.to_string();
  d["problem"] = e->key.problem.to_string();
  d["example_problem"] = e->problem.to_string();
  d["gpu"] = identity_dict(e->key.gpu);
  d["source_hash"] = e->key.source_hash;
  d["nvrtc_version"] = e->key.nvrtc_version;
  d["trial_id"] = e->trial_id;
  d["sweep_id"] = e->sweep_id;
  d["clock_fraction"] = e->clock_fraction;
  d["updated_at"] = e->updated_at;
  return d;
}

// ---- info

template <typename F>
nb::object or_error(F f, nb::dict& errors, const char* key) {
  try {
    return f();
  } catch (const std::exception& e) {
    errors[key] = e.what();
    return nb::none();
  }
}

// The SM clock of device `ordinal` now and its maximum, in MHz, read through NVML (for the benches: a
// measurement's clock next to its time); None without a GPU or NVML.
std::optional<std::pair<int, int>> sm_clock_mhz(int ordinal) {
  std::string why;
  if (!gpu::gpu_available(&why) || ordinal < 0 || ordinal >= gpu::device_count()) return std::nullopt;
  const std::unique_ptr<gpu::SmClock> clock = gpu::SmClock::open(gpu::query_device(ordinal).uuid, &why);
  if (!clock) return std::nullopt;
  try {
    return std::pair<int, int>{clock->current_mhz(), clock->max_mhz()};
  } catch (const Error&) {
    return std::nullopt;
  }
}

nb::dict info() {
  nb::dict d, errors;
  d["version"] = FLASHTUNE_VERSION;
  d["nvrtc"] =
      or_error([] { return nb::object(nb::str(jit::nvrtc_version_string().c_str())); }, errors, "nvrtc");
  d["kernel_templates"] =
      or_error([] { return nb::object(nb::str(kernel_template_dir().c_str())); }, errors, "kernel_templates");
  d["cache_dir"] = cache_dir().string();
  d["db"] = store::ResultStore::default_path().string();
  d["code_dir"] = code_dir().string();
  const std::filesystem::path bundle = loaded_bundle();
  d["bundle"] = bundle.empty() ? nb::none() : nb::object(nb::str(bundle.c_str()));
  std::string why;
  nb::list gpus;
  if (gpu::gpu_available(&why)) {
    const int v = gpu::driver_version();
    d["driver"] = std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
    for (int i = 0; i < gpu::device_count(); ++i) {
      const gpu::DeviceInfo g = gpu::query_device(i);
      nb::dict e;
      e["ordinal"] = i;
      e["name"] = g.name;
      e["arch"] = g.arch();
      e["compute_capability"] = nb::make_tuple(g.cc_major, g.cc_minor);
      e["sm_count"] = g.sm_count;
      e["memory_bytes"] = g.total_mem_bytes;
      e["uuid"] = g.uuid;
      e["description"] = g.to_string();
      e["identity"] = identity_dict(g.identity());
      e["templates"] = runtime::default_preference(g.arch());
      gpus.append(e);
    }
    d["gpu"] = gpus[0]["description"];
    d["gpu_reason"] = nb::none();
  } else {
    d["driver"] = nb::none();
    d["gpu"] = "none";
    d["gpu_reason"] = why;
  }
  d["gpus"] = gpus;
  d["errors"] = errors;
  return d;
}

}  // namespace
}  // namespace flashtune::python

NB_MODULE(_flashtune, m) {
  using namespace flashtune::python;
  m.doc() = "flashtune's C++ runtime (use the flashtune package, not this module)";
  nb::register_exception_translator(translate);
  m.attr("__version__") = FLASHTUNE_VERSION;
  // The variant options come last, with the plain problem's values as defaults: window sides -1 (unbounded),
  // softcap 0 (none).
  // Then the varlen ones: the cu_seqlens (None: fixed lengths) and the max_seqlens (-1: not given). Then the
  // block-sparse ones: the lists (None: dense), the block and the density.
  m.def("_attention_dlpack", &attention_dlpack, "q"_a.none(), "k"_a.none(), "v"_a.none(), "causal"_a,
        "scale"_a.none(), "return_lse"_a, "template"_a.none(), "stream"_a, "window_left"_a = -1,
        "window_right"_a = -1, "softcap"_a = 0.0, "cu_seqlens_q"_a.none() = nb::none(),
        "cu_seqlens_k"_a.none() = nb::none(), "max_seqlen_q"_a = -1, "max_seqlen_k"_a = -1,
        "sparse_counts"_a.none() = nb::none(), "sparse_cols"_a.none() = nb::none(), "sparse_block"_a = 0,
        "sparse_density"_a = 0.0);
  m.def("_attention_desc", &attention_desc, "q"_a, "k"_a, "v"_a, "o"_a, "lse"_a, "causal"_a, "scale"_a.none(),
        "template"_a.none(), "stream"_a, "window_left"_a = -1, "window_right"_a = -1, "softcap"_a = 0.0,
        "o_strides"_a.none() = nb::none(), "cu_seqlens_q"_a.none() = nb::none(),
        "cu_seqlens_k"_a.none() = nb::none(), "max_seqlen_q"_a = -1, "max_seqlen_k"_a = -1,
        "sparse_counts"_a.none() = nb::none(), "sparse_cols"_a.none() = nb::none(), "sparse_block"_a = 0,
        "sparse_density"_a = 0.0);
  m.def("_torch_init", &torch_init, "bf16"_a, "f16"_a, "raw_stream"_a);
  m.def("_attention_torch", &attention_torch, "q"_a, "k"_a, "v"_a, "o"_a, "lse"_a.none(), "causal"_a,
        "scale"_a.none(), "template"_a.none(), "window_left"_a = -1, "window_right"_a = -1, "softcap"_a = 0.0,
        "cu_seqlens_q"_a.none() = nb::none(), "cu_seqlens_k"_a.none() = nb::none(), "max_seqlen_q"_a = -1,
        "max_seqlen_k"_a = -1, "sparse_counts"_a.none() = nb::none(), "sparse_cols"_a.none() = nb::none(),
        "sparse_block"_a = 0, "sparse_density"_a = 0.0);
  m.def("_check", &check_desc, "q"_a, "k"_a, "v"_a, "causal"_a, "scale"_a.none(), "template"_a.none(),
        "window_left"_a = -1, "window_right"_a = -1, "softcap"_a = 0.0, "cu_seqlens_q"_a.none() = nb::none(),
        "cu_seqlens_k"_a.none() = nb::none(), "max_seqlen_q"_a = -1, "max_seqlen_k"_a = -1,
        "sparse_counts"_a.none() = nb::none(), "sparse_cols"_a.none() = nb::none(), "sparse_block"_a = 0,
        "sparse_density"_a = 0.0);
  m.def("_attention_backward_desc", &attention_backward_desc, "d_o"_a, "q"_a, "k"_a, "v"_a, "o"_a, "lse"_a,
        "d_q"_a, "d_k"_a, "d_v"_a, "causal"_a, "scale"_a.none(), "stream"_a, "window_left"_a = -1,
        "window_right"_a = -1, "softcap"_a = 0.0);
  m.def("_check_backward", &check_backward_desc, "d_o"_a, "q"_a, "k"_a, "v"_a, "o"_a, "lse"_a, "causal"_a,
        "scale"_a.none(), "window_left"_a = -1, "window_right"_a = -1, "softcap"_a = 0.0);
  m.def("_bench_runtime", &bench_runtime, "q"_a, "k"_a, "v"_a, "o"_a, "lse"_a, "causal"_a,
        "template"_a.none(), "stream"_a, "calls"_a);
  m.def("_choice", &choice, "batch"_a, "heads"_a, "seqlen"_a, "head_dim"_a, "dtype"_a, "causal"_a,
        "template"_a.none(), "device"_a);
  m.def("_best_config", &best_config, "batch"_a, "heads"_a, "seqlen"_a, "head_dim"_a, "dtype"_a, "causal"_a,
        "template"_a, "smem_budget"_a, "db"_a, "gpu"_a.none());
  m.def("_info", &info);
  m.def("_sm_clock_mhz", &sm_clock_mhz, "device"_a);
  m.def(
      "_load_bundle",
      [](const std::string& path) {
        nb::gil_scoped_release release;
        load_bundle(path);
      },
      "path"_a);
  m.def("_runtime_templates", &runtime_templates);
  m.def("_default_preference", &flashtune::runtime::default_preference, "arch"_a);
}
