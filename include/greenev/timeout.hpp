// greenev/timeout.hpp — deadlines for whole blocks of code (gevent.Timeout).
//
//   { greenev::Timeout t(500ms); conn.read(...); ... }   // TimeoutError if still inside at 500 ms
//
// A Timeout is a scope on the current fiber: every suspension inside it (sleep, join, event and
// queue waits, and patched libc calls) is bounded by its deadline. It fires once: the suspension
// that passes the deadline throws TimeoutError (patched libc calls return -1/ETIMEDOUT instead and
// the TimeoutError is raised at the next greenev suspension point). Nested scopes: the earliest
// deadline wins, and TimeoutError::is(t) tells which scope expired. Scopes must be destroyed in
// reverse order of creation on the fiber that created them (asserted). cancel() works from any
// fiber of the hub, also while the owner is parked: the pending wake-up is re-armed or dropped.
// A Timeout keeps its fiber's control block alive, so one that outlives its fiber (moved to the
// heap) is destroyed safely.
#pragma once
#include <greenev/detail/deadline.hpp>
#include <greenev/detail/fiber_base.hpp>
#include <greenev/errors.hpp>

#include <chrono>
#include <optional>
#include <type_traits>

namespace greenev {

class Timeout;
namespace detail {
// Makes a fired scope fire again at the next suspension point: for a TimeoutError that had to be
// dropped because another exception (a kill, an earlier timeout) is being raised instead.
GREENEV_API void rearm_timeout(const Timeout* t) noexcept;

class TimeoutScope {
 public:
  Deadline deadline = kForever;
  TimeoutScope* outer = nullptr;
  FiberBase* fiber = nullptr;
  const Timeout* owner = nullptr;  // the public object, for TimeoutError::is
  bool fired = false;
};
}  // namespace detail

class GREENEV_API Timeout : private detail::TimeoutScope {
 public:
  template <class Rep, class Per>
  explicit Timeout(std::chrono::duration<Rep, Per> d) : Timeout(detail::deadline_after(d), 0) {}
  template <class Clock, class Dur>
  explicit Timeout(std::chrono::time_point<Clock, Dur> tp) : Timeout(detail::deadline_at(tp), 0) {}
  ~Timeout();
  Timeout(const Timeout&) = delete;
  Timeout& operator=(const Timeout&) = delete;

  // True once this scope's deadline has raised (or would raise at the next suspension).
  bool expired() const noexcept;
  // Stops the scope from firing; it stays linked until destroyed. Any fiber of the hub.
  void cancel() noexcept { deadline = detail::kForever; }

 private:
  friend void detail::rearm_timeout(const Timeout* t) noexcept;
  Timeout(detail::Deadline d, int);
};

// Runs fn() under a Timeout of d. Returns its value (or true for void), or nullopt/false when
// the deadline hit. Only this call's own timeout is caught; an outer one propagates.
template <class Rep, class Per, class F>
auto with_timeout(std::chrono::duration<Rep, Per> d, F&& fn) {
  using R = std::invoke_result_t<F>;
  Timeout t(d);
  try {
    if constexpr (std::is_void_v<R>) {
      fn();
      return true;
    } else {
      return std::optional<R>(fn());
    }
  } catch (const TimeoutError& e) {
    if (!e.is(t)) throw;
    if constexpr (std::is_void_v<R>) {
      return false;
    } else {
      return std::optional<R>();
    }
  }
}

}  // namespace greenev
