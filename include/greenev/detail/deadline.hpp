// greenev/detail/deadline.hpp — the one time representation used below the public API.
//
// A deadline is an absolute CLOCK_MONOTONIC instant in nanoseconds (std::chrono::steady_clock on
// Linux), so timeouts compose by taking the minimum. kForever means "no deadline". Durations from
// the public API are converted once, at the call, never re-derived per wake-up.
#pragma once
#include <chrono>
#include <cstdint>
#include <limits>

namespace greenev::detail {

using Deadline = std::int64_t;
inline constexpr Deadline kForever = std::numeric_limits<std::int64_t>::max();

inline Deadline now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

template <class Rep, class Period>
Deadline deadline_after(std::chrono::duration<Rep, Period> d) noexcept {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  if (ns <= 0) return now_ns();
  Deadline now = now_ns();
  return ns > kForever - now ? kForever : now + ns;
}

template <class Clock, class Dur>
Deadline deadline_at(std::chrono::time_point<Clock, Dur> tp) noexcept {
  if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count();
  } else {
    return deadline_after(tp - Clock::now());
  }
}

}  // namespace greenev::detail
