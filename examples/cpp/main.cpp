// flashtune's runtime from another program: this program owns the CUDA context, the stream and the device
// memory; flashtune::runtime::Runtime picks the tuned kernel for the problem and launches it there. It runs
// bf16 attention on B=2 H=8 N=1024 d=64 and compares a few rows of O with a CPU reference.
//
//   flashtune_example [--causal] [--db PATH | --bundle DIR]
//
// --db: another results store to take tuned configurations from; --bundle: a deployable bundle
// (flashtune export --format bundle), which needs no NVRTC and no store.
//
// Without a GPU (cuInit fails or there is no device) it says so and exits 0, so that CI can build and run it
// anywhere.
#include <cuda.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <flashtune/runtime/runtime.hpp>

namespace {

constexpr int kBatch = 2, kHeads = 8, kSeqlen = 1024, kHeadDim = 64;
constexpr float kTolerance = 2e-2f;  // max abs error against the float reference, bf16 output

struct Options {
  bool causal = false;
  std::filesystem::path db;      // empty: the default results store
  std::filesystem::path bundle;  // empty: none
};

// A failed driver call, named: "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (out of memory)".
struct CudaError {
  std::string what;
};

std::string describe(CUresult r) {
  // The toolkit's stub libcuda (linked at build time, found at run time when no driver is installed) cannot
  // name its own errors.
  if (r == CUDA_ERROR_STUB_LIBRARY)
    return "CUDA_ERROR_STUB_LIBRARY (libcuda.so.1 is the toolkit's stub, not a driver)";
  const char* name = nullptr;
  const char* text = nullptr;
  if (cuGetErrorName(r, &name) != CUDA_SUCCESS || name == nullptr) return "CUDA error " + std::to_string(r);
  std::string s = name;
  if (cuGetErrorString(r, &text) == CUDA_SUCCESS && text != nullptr) s += std::string(" (") + text + ")";
  return s;
}

void check(CUresult r, const char* call) {
  if (r != CUDA_SUCCESS) throw CudaError{std::string(call) + ": " + describe(r)};
}

// Device 0's primary context, current on this thread while the object lives.
class PrimaryContext {
 public:
  explicit PrimaryContext(CUdevice device) : device_(device) {
    check(cuDevicePrimaryCtxRetain(&context_, device_), "cuDevicePrimaryCtxRetain");
    if (const CUresult r = cuCtxSetCurrent(context_); r != CUDA_SUCCESS) {
      cuDevicePrimaryCtxRelease(device_);
      check(r, "cuCtxSetCurrent");
    }
  }
  ~PrimaryContext() { cuDevicePrimaryCtxRelease(device_); }
  PrimaryContext(const PrimaryContext&) = delete;
  PrimaryContext& operator=(const PrimaryContext&) = delete;

 private:
  CUdevice device_;
  CUcontext context_ = nullptr;
};

class Stream {
 public:
  Stream() { check(cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING), "cuStreamCreate"); }
  ~Stream() { cuStreamDestroy(stream_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  CUstream get() const { return stream_; }

 private:
  CUstream stream_ = nullptr;
};

class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t bytes) { check(cuMemAlloc(&ptr_, bytes), "cuMemAlloc"); }
  ~DeviceBuffer() { cuMemFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  CUdeviceptr ptr() const { return ptr_; }
  void* get() const { return reinterpret_cast<void*>(ptr_); }

 private:
  CUdeviceptr ptr_ = 0;
};

std::uint16_t to_bf16(float f) {  // round to nearest even (the inputs are finite)
  const auto u = std::bit_cast<std::uint32_t>(f);
  return static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

float from_bf16(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

// Row `row` of head `bh` (b * heads + h) of O = softmax(Q K^T / sqrt(d)) V, in float.
std::vector<float> reference_row(const std::vector<std::uint16_t>& q, const std::vector<std::uint16_t>& k,
                                 const std::vector<std::uint16_t>& v, int bh, int row, bool causal) {
  const std::size_t head = static_cast<std::size_t>(bh) * kSeqlen * kHeadDim;
  const int keys = causal ? row + 1 : kSeqlen;
  const float scale = 1.0f / std::sqrt(static_cast<float>(kHeadDim));
  std::vector<float> p(keys);
  for (int j = 0; j < keys; ++j) {
    float dot = 0;
    for (int d = 0; d < kHeadDim; ++d)
      dot += from_bf16(q[head + row * kHeadDim + d]) * from_bf16(k[head + j * kHeadDim + d]);
    p[j] = dot * scale;
  }
  const float max = *std::max_element(p.begin(), p.end());
  float sum = 0;
  for (float& x : p) sum += (x = std::exp(x - max));
  std::vector<float> out(kHeadDim, 0.0f);
  for (int j = 0; j < keys; ++j)
    for (int d = 0; d < kHeadDim; ++d) out[d] += p[j] / sum * from_bf16(v[head + j * kHeadDim + d]);
  return out;
}

// Why there is no GPU to run on ("cuInit: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)"), or
// "" when there is one.
std::string no_device_reason() {
  if (const CUresult r = cuInit(0); r != CUDA_SUCCESS) return "cuInit: " + describe(r);
  int devices = 0;
  if (const CUresult r = cuDeviceGetCount(&devices); r != CUDA_SUCCESS)
    return "cuDeviceGetCount: " + describe(r);
  return devices == 0 ? "cuDeviceGetCount: 0 devices" : "";
}

int run(const Options& options) {
  const std::size_t elements = std::size_t{kBatch} * kHeads * kSeqlen * kHeadDim;
  const std::size_t bytes = elements * sizeof(std::uint16_t);
  std::vector<std::uint16_t> q(elements), k(elements), v(elements), o(elements);
  std::mt19937 rng(15);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (std::vector<std::uint16_t>* t : {&q, &k, &v})
    for (std::uint16_t& x : *t) x = to_bf16(uniform(rng));

  CUdevice device = 0;
  check(cuDeviceGet(&device, 0), "cuDeviceGet");
  // Destroyed in reverse: the runtime (it frees its modules in this context), the buffers, the stream, then
  // the context is released.
  const PrimaryContext context(device);
  const Stream stream;
  const DeviceBuffer dq(bytes), dk(bytes), dv(bytes), dout(bytes);
  check(cuMemcpyHtoD(dq.ptr(), q.data(), bytes), "cuMemcpyHtoD(q)");
  check(cuMemcpyHtoD(dk.ptr(), k.data(), bytes), "cuMemcpyHtoD(k)");
  check(cuMemcpyHtoD(dv.ptr(), v.data(), bytes), "cuMemcpyHtoD(v)");

  flashtune::runtime::RuntimeOptions runtime_options;
  runtime_options.db = options.db;
  runtime_options.bundle = options.bundle;
  flashtune::runtime::Runtime rt(runtime_options);
  flashtune::runtime::AttentionCall call;
  call.q.data = dq.get();
  call.k.data = dk.get();
  call.v.data = dv.get();
  call.q.shape = call.k.shape = call.v.shape = {kBatch, kHeads, kSeqlen, kHeadDim};  // strides: contiguous
  call.o = dout.get();
  call.dtype = flashtune::DType::bf16;
  call.causal = options.causal;

  const flashtune::AttentionProblem problem = flashtune::runtime::problem_of(call);
  const flashtune::runtime::Selected chosen = rt.choice(problem);  // compiles and loads it on first use
  std::printf("%s: %s (%s)\n  kernel %s\n", problem.to_string().c_str(), chosen.template_id.c_str(),
              chosen.source.c_str(), chosen.kernel.c_str());

  rt.attention(call, stream.get());
  check(cuStreamSynchronize(stream.get()), "cuStreamSynchronize");
  check(cuMemcpyDtoH(o.data(), dout.ptr(), bytes), "cuMemcpyDtoH(o)");

  float max_error = 0;
  int rows = 0;
  for (int bh = 0; bh < kBatch * kHeads; ++bh)
    for (int row : {0, 1, kSeqlen / 2, kSeqlen - 1}) {
      const std::vector<float> want = reference_row(q, k, v, bh, row, options.causal);
      const std::size_t at = (static_cast<std::size_t>(bh) * kSeqlen + row) * kHeadDim;
      for (int d = 0; d < kHeadDim; ++d) {
        const float error = std::abs(from_bf16(o[at + d]) - want[d]);
        if (std::isnan(error) || error > max_error) max_error = error;  // a NaN stays: it fails the check
      }
      ++rows;
    }
  std::printf("max abs error over %d rows: %.3g (tolerance %.3g)\n", rows, max_error, kTolerance);
  return max_error <= kTolerance ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--causal") {
      options.causal = true;
    } else if (a == "--db" && i + 1 < argc) {
      options.db = argv[++i];
    } else if (a == "--bundle" && i + 1 < argc) {
      options.bundle = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--causal] [--db PATH | --bundle DIR]\n", argv[0]);
      return 2;
    }
  }

  // No GPU is not a failure here: the example built, linked and started.
  if (const std::string reason = no_device_reason(); !reason.empty()) {
    std::printf("no CUDA device: %s; this example needs a GPU\n", reason.c_str());
    return 0;
  }

  try {
    return run(options);
  } catch (const CudaError& e) {
    std::fprintf(stderr, "%s\n", e.what.c_str());
  } catch (const flashtune::Error& e) {
    std::fprintf(stderr, "flashtune: %s\n", e.what());
  }
  return 1;
}
