// greenev/thread_wait.hpp — wait for thread-world things from a fiber without blocking the hub:
// std::future / std::shared_future, and std::thread's end.
//
//   auto fut = std::async(std::launch::async, work);
//   greenev::wait(fut);          // parks the fiber; the hub runs the others
//   auto v = fut.get();          // ready: does not block
//   greenev::join(worker);       // std::thread::join(), parking the fiber
//
// Neither a std::future nor a thread's exit can be watched by an event loop (no fd, no callback),
// so some OS thread has to block on them. These run that blocking wait on the default thread pool
// in slices of at most 50 ms (future::wait_until / pthread_timedjoin_np) and park the fiber
// meanwhile; between slices a pending kill() or Timeout is raised, so both stay interruptible
// (within a slice; fiber dumps show the wait as "run_blocking"). Readiness is seen at once (the slice returns as soon as it happens). Each
// waiting fiber holds one pool thread while it waits: for many concurrent waits prefer
// HubHandle::submit_async / AsyncResult, which park on the hub alone.
// On a thread without a hub, they simply block like future::wait() / thread::join().
// Rejected: a helper std::thread per wait (unbounded threads, ~20 us each), polling from the fiber
// with sleeps (latency or CPU), and one pool job for the whole wait (a future that never becomes
// ready would make kill() and Timeout wait forever, since the job holds the caller's object).
#pragma once
#include <greenev/detail/config.hpp>
#include <greenev/detail/deadline.hpp>

#include <chrono>
#include <future>
#include <thread>

namespace greenev {

namespace detail {
// Calls slice(end) until it returns true (ready) or `deadline` passes, on the pool in slices
// (see above); `slice` blocks its thread until `end` at most. True when ready. A suspension point.
struct SliceFn {
  bool (*fn)(void* ctx, Deadline end);
  void* ctx;
};
GREENEV_API bool wait_sliced(SliceFn slice, Deadline deadline);
GREENEV_API bool join_thread_until(std::thread& t, Deadline deadline);

template <class Fut>
bool wait_future_until(Fut& f, Deadline deadline) {
  if (!f.valid()) throw std::future_error(std::future_errc::no_state);
  if (f.wait_for(std::chrono::seconds(0)) == std::future_status::ready) return true;
  SliceFn s{[](void* ctx, Deadline end) {
              const auto tp = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(end));
              return static_cast<Fut*>(ctx)->wait_until(tp) == std::future_status::ready;
            },
            &f};
  return wait_sliced(s, deadline);
}
}  // namespace detail

// Waits until f is ready; then f.get() does not block. std::future_error(no_state) when !valid().
template <class T>
void wait(std::future<T>& f) { detail::wait_future_until(f, detail::kForever); }
template <class T>
void wait(std::shared_future<T>& f) { detail::wait_future_until(f, detail::kForever); }
// As wait(f), gives up after d: true when ready.
template <class T, class Rep, class Per>
bool wait(std::future<T>& f, std::chrono::duration<Rep, Per> d) {
  return detail::wait_future_until(f, detail::deadline_after(d));
}
template <class T, class Rep, class Per>
bool wait(std::shared_future<T>& f, std::chrono::duration<Rep, Per> d) {
  return detail::wait_future_until(f, detail::deadline_after(d));
}

// std::thread::join() that parks the calling fiber. Same errors as join(): std::system_error
// (invalid_argument) when !t.joinable(), (resource_deadlock_would_occur) for the calling thread.
GREENEV_API void join(std::thread& t);
// As join(t), gives up after d: false (t still joinable) on timeout.
template <class Rep, class Per>
bool join(std::thread& t, std::chrono::duration<Rep, Per> d) {
  return detail::join_thread_until(t, detail::deadline_after(d));
}

}  // namespace greenev
