// greenev/this_fiber.hpp — what the running fiber can do to itself (std::this_thread's shape).
//
// yield() lets every other ready fiber run once (and the hub poll I/O now and then) before the
// caller continues. sleep()/sleep_until() park the fiber on a timer of the hub's loop; a sleeping
// fiber costs nothing to the others (libev's 4-heap: O(log n) per timer). All of these are
// suspension points: a pending kill raises FiberExit, an expired Timeout raises TimeoutError.
// The thread's original stack is the "main" fiber (id 0), so all of this works from main() too.
#pragma once
#include <greenev/detail/fiber_base.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace greenev {

namespace detail {
GREENEV_API void yield_now();
GREENEV_API void sleep_until_ns(Deadline d);
GREENEV_API void check_interrupt();
}  // namespace detail

namespace this_fiber {
inline void yield() { detail::yield_now(); }
inline std::uint64_t id() noexcept { return detail::current_fiber()->id(); }
// Raises now what the next suspension point would raise: FiberExit for a pending kill,
// TimeoutError for an expired Timeout scope. For code that got -1/ETIMEDOUT or ECANCELED from a
// patched call inside a C library and wants the interruption as an exception at once.
inline void check_interrupt() { detail::check_interrupt(); }
GREENEV_API std::string name();
GREENEV_API void set_name(std::string name);

template <class Rep, class Per>
void sleep_for(std::chrono::duration<Rep, Per> d) {
  detail::sleep_until_ns(detail::deadline_after(d));
}
template <class Clock, class Dur>
void sleep_until(std::chrono::time_point<Clock, Dur> tp) {
  detail::sleep_until_ns(detail::deadline_at(tp));
}
}  // namespace this_fiber

// gevent.sleep spelling.
template <class Rep, class Per>
void sleep(std::chrono::duration<Rep, Per> d) {
  this_fiber::sleep_for(d);
}
template <class Clock, class Dur>
void sleep_until(std::chrono::time_point<Clock, Dur> tp) {
  this_fiber::sleep_until(tp);
}

}  // namespace greenev
