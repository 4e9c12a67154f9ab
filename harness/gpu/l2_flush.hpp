#pragma once
// A read-only L2 flush, for the launch before a profiled one (harness/profile/): a kernel that reads the
// whole scratch buffer once, 16 bytes per load, so that every L2 line holds scratch data afterwards.
//
// Why read-only: the L2 is write-back. Lines that earlier work wrote (the inputs just uploaded, a previous
// kernel's output, a memset-style flush) stay dirty in the L2 until evicted, and the eviction, a DRAM write,
// lands in whichever kernel evicts them: profiled, they inflate its dram__bytes_write (and its time). A flush
// that writes (cuMemsetD32Async, as gpu::time_kernel does for timing) leaves up to an L2 of dirty lines of
// its own behind. Reading >= 2x the L2 evicts every earlier line, writing the dirty ones back now, and leaves
// only clean lines, which the profiled kernel drops for free. The kernel keeps its reads observable with a
// store that depends on a kernel argument that is always 0 (so the compiler cannot remove them and nothing is
// ever written).
//
//   DeviceBuffer scratch(2 * device.l2_bytes);   // at least twice the L2 (DeviceInfo::l2_bytes)
//   flush_l2_read_only(stream, scratch);         // then profile the launch
namespace flashtune::gpu {

class Stream;
class DeviceBuffer;

// Queues the read of `scratch` (its size rounded down to 16 bytes; at least twice the L2 to evict all of it)
// on `stream`. The kernel is loaded from embedded PTX once per context (the first call in a context
// JIT-compiles it: a few ms). Needs a current Context. Throws Error(invalid_argument) for a scratch buffer
// under 16 bytes, DriverError for driver failures.
void flush_l2_read_only(Stream& stream, DeviceBuffer& scratch);

}  // namespace flashtune::gpu
