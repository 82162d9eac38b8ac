// runtime/diag/hub_diag.hpp — what a hub carries for diagnostics: counters, the loop stamp, the
// registry of hubs.
//
// Every per-hub counter has exactly one writer (the hub's thread; blocked_episodes: the monitor)
// and any number of readers on other threads (metrics, the monitor). Relaxed<T> makes that legal
// without a locked instruction: an increment is a relaxed load + relaxed store, which compiles to
// the same plain add a non-atomic counter would, so "always on" metrics cost nothing measurable.
// Rejected: per-counter fetch_add (a lock-prefixed RMW on every switch) and thread-local counters
// harvested on demand (a reader on another thread cannot reach them safely).
//
// The loop stamp is the blocked-hub detector's only hot-path cost: two relaxed stores per loop
// iteration. A negative stamp -t means "inside ev_run since t" (waiting or running callbacks: not
// blocked); a positive one is the monotonic time the hub last left its loop. A hub whose stamp is
// positive and older than the threshold has not come back to its loop: some fiber (or the
// thread's own code) holds it.
#pragma once
#include <greenev/detail/deadline.hpp>
#include <greenev/hub.hpp>

#include <atomic>
#include <cstdint>
#include <pthread.h>
#include <sys/types.h>

namespace greenev::detail {

class Hub;
class FiberBase;

// A counter or gauge with one writer thread and many reader threads.
template <class T>
class Relaxed {
 public:
  constexpr Relaxed(T v = T{}) noexcept : v_(v) {}
  Relaxed(const Relaxed&) = delete;
  Relaxed& operator=(const Relaxed&) = delete;
  Relaxed& operator=(T v) noexcept {
    v_.store(v, std::memory_order_relaxed);
    return *this;
  }
  Relaxed& operator++() noexcept { return *this += 1; }
  Relaxed& operator--() noexcept {
    v_.store(v_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    return *this;
  }
  Relaxed& operator+=(T n) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    return *this;
  }
  operator T() const noexcept { return v_.load(std::memory_order_relaxed); }
  T get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<T> v_;
};

// Fixed-bucket latency histogram (bounds in metrics.hpp: kLatencyBoundsNs). Single writer.
inline constexpr int kLatencyBuckets = 12;  // 11 finite bounds + the +Inf bucket
inline constexpr std::int64_t kLatencyBoundsNs[kLatencyBuckets - 1] = {
    10'000, 50'000, 100'000, 500'000, 1'000'000, 5'000'000, 10'000'000, 50'000'000,
    100'000'000, 500'000'000, 1'000'000'000};

inline int latency_bucket(std::int64_t ns) noexcept {
  int i = 0;
  while (i < kLatencyBuckets - 1 && ns > kLatencyBoundsNs[i]) ++i;
  return i;
}

struct LatencyHistogram {
  Relaxed<std::uint64_t> buckets[kLatencyBuckets];  // not cumulative
  Relaxed<std::uint64_t> sum_ns;
  void record(std::int64_t ns) noexcept {
    if (ns < 0) ns = 0;
    ++buckets[latency_bucket(ns)];
    sum_ns += static_cast<std::uint64_t>(ns);
  }
};

struct HubDiag {
  // --- written by the hub thread ---
  std::atomic<Deadline> loop_stamp{0};  // -t: inside its loop since t; t: left it at t
  Relaxed<std::uint64_t> loop_ns;       // time spent inside ev_run (polling + callbacks)
  LatencyHistogram timer_lag;           // how late timed parks resumed after their deadline
  // --- written by the monitor thread ---
  Relaxed<std::uint64_t> blocked_episodes;
  Deadline reported_stamp = 0;  // the episode (loop_stamp value) last reported; monitor only
  // --- set once at registration ---
  Deadline created = 0;
  pid_t tid = 0;
  pthread_t thread{};

  void leave_loop(Deadline entered, Deadline now) noexcept {
    loop_ns += static_cast<std::uint64_t>(now - entered);
    loop_stamp.store(now, std::memory_order_relaxed);
  }
  void enter_loop(Deadline now) noexcept { loop_stamp.store(-now, std::memory_order_relaxed); }
};

// The process-wide registry of hubs (runtime/diag/registry.cpp). Called on the hub's thread.
void diag_hub_created(Hub* h) noexcept;
void diag_hub_destroyed(Hub* h) noexcept;

// Called by context_switch on a fiber resumed only to report its stack (FiberBase::capture_stack_):
// records the frames and returns the fiber to switch back to (runtime/diag/stack_capture.cpp).
FiberBase* diag_capture_resumed(FiberBase* self) noexcept;

// Reads GREENEV_MONITOR / GREENEV_DUMP_SIGNAL / GREENEV_PATCH_REPORT once (diagnostics.cpp).
void diag_configure_from_env() noexcept;

// Every symbol greenev interposes, generated from the built patches/ objects
// (runtime/diag/patched_symbols.cpp, cmake/gen_patched_symbols.cmake).
extern const char* const g_patched_symbols[];
extern const std::size_t g_patched_symbol_count;

// Thread-pool queue wait (runtime/threadpool/threadpool.cpp), any thread.
void diag_pool_job_started(std::int64_t waited_ns) noexcept;
// Jobs queued and not yet taken by a worker, over every pool (runtime/threadpool/threadpool.cpp).
std::size_t threadpool_queued_jobs() noexcept;

}  // namespace greenev::detail
