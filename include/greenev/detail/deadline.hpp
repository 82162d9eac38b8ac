// greenev/detail/deadline.hpp — the one time representation used below the public API.
//
// A deadline is an absolute CLOCK_MONOTONIC instant in nanoseconds (std::chrono::steady_clock on
// Linux), so timeouts compose by taking the minimum. kForever means "no deadline". Durations from
// the public API are converted once, at the call, never re-derived per wake-up.
// Every conversion saturates: a duration too large for int64 nanoseconds (hours(8760000),
// seconds::max(), duration<double>(inf)) is kForever, a negative one (or NaN) is "now". Nothing
// here may overflow: std::chrono::duration_cast would (undefined behaviour) for such values.
// Rejected: clamping to an arbitrary "long enough" bound (a 292-year cap is kForever anyway).
#pragma once
#include <chrono>
#include <cstdint>
#include <limits>
#include <ratio>
#include <type_traits>

namespace greenev::detail {

using Deadline = std::int64_t;
inline constexpr Deadline kForever = std::numeric_limits<std::int64_t>::max();

inline Deadline now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// d in nanoseconds, saturated to [INT64_MIN, INT64_MAX] (NaN: 0).
template <class Rep, class Period>
constexpr std::int64_t saturating_ns(std::chrono::duration<Rep, Period> d) noexcept {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  if constexpr (std::is_floating_point_v<Rep>) {
    const long double ns = static_cast<long double>(d.count()) * Period::num * 1e9L / Period::den;
    if (ns != ns) return 0;
    if (ns >= 9.2e18L) return kMax;
    if (ns <= -9.2e18L) return kMin;
    return static_cast<std::int64_t>(ns);
  } else {
    using R = std::ratio_divide<Period, std::nano>;  // ns per tick = R::num / R::den
    const __int128 c = static_cast<__int128>(d.count());
    const __int128 lim = static_cast<__int128>(kMax);
    // |c| <= 2^64 and R::num < 2^63 keep the product inside int128 (|x| < 2^127).
    const __int128 ns = c * static_cast<__int128>(R::num) / static_cast<__int128>(R::den);
    if (ns > lim) return kMax;
    if (ns < -lim - 1) return kMin;
    return static_cast<std::int64_t>(ns);
  }
}

// An absolute deadline `ns` nanoseconds from `now`: kForever when it would overflow, now if <= 0.
inline Deadline deadline_from(Deadline now, std::int64_t ns) noexcept {
  if (ns <= 0) return now;
  return ns >= kForever - now ? kForever : now + ns;
}

template <class Rep, class Period>
Deadline deadline_after(std::chrono::duration<Rep, Period> d) noexcept {
  return deadline_from(now_ns(), saturating_ns(d));
}

template <class Clock, class Dur>
Deadline deadline_at(std::chrono::time_point<Clock, Dur> tp) noexcept {
  if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
    const std::int64_t ns = saturating_ns(tp.time_since_epoch());
    return ns < 0 ? 0 : ns;
  } else {
    // Both sides as saturated nanoseconds: tp - Clock::now() itself may overflow (time_point::max).
    const std::int64_t at = saturating_ns(tp.time_since_epoch());
    const std::int64_t now = saturating_ns(Clock::now().time_since_epoch());
    const Deadline base = now_ns();
    if (at <= now) return base;
    if (at == std::numeric_limits<std::int64_t>::max()) return kForever;
    const std::int64_t diff = (now < 0 && at > now + std::numeric_limits<std::int64_t>::max())
                                  ? std::numeric_limits<std::int64_t>::max()
                                  : at - now;
    return deadline_from(base, diff);
  }
}

}  // namespace greenev::detail
