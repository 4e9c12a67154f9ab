#pragma once
// GPU-side timing of the work queued between two points of a stream (a pair of CUDA events, RAII).
//   EventTimer t;  t.start(stream);  launch(...);  t.stop(stream);  double ms = t.elapsed_ms();
struct CUevent_st;

namespace flashtune::gpu {

class Stream;

class EventTimer {
 public:
  EventTimer();  // two timing events in the current context
  ~EventTimer();
  EventTimer(EventTimer&& other) noexcept;
  EventTimer& operator=(EventTimer&& other) noexcept;
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;

  void start(Stream& stream);  // records the start event on the stream
  void stop(Stream& stream);   // records the stop event on the stream
  // Waits for the stop event, then returns the GPU time between the two events in milliseconds (resolution
  // about 0.5 us). A kernel fault in between is reported here, as DriverError naming cuEventSynchronize.
  double elapsed_ms() const;

 private:
  void destroy() noexcept;

  CUevent_st* start_ = nullptr;
  CUevent_st* stop_ = nullptr;
};

}  // namespace flashtune::gpu
