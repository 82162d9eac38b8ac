// patches/time.cpp — the sleep family.
//
// Yield (inside a fiber, patching on): sleep, usleep, nanosleep (+ __nanosleep), clock_nanosleep
// (CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME; TIMER_ABSTIME converted to a relative wait once,
// at the call). The fiber parks on a hub timer. A kill / Timeout reaching the sleep ends it early:
// -1 with ECANCELED / ETIMEDOUT (clock_nanosleep returns those numbers; sleep returns the seconds
// left), and `rem` gets the time left; a signal with a user handler ends the main fiber's sleep with
// EINTR (docs/interrupts.md). A zero (or past) duration yields once and returns 0: it never turns
// into "forever". A sleep made while the fiber holds a pthread lock is the real one (held-lock rule).
// Pass through: outside fibers, clock_nanosleep on CPU-time clocks, invalid arguments (the real
// call reports EINVAL).
#include "patch.hpp"

#include "core/scope.hpp"

#include <time.h>

using namespace greenev::detail;

GREENEV_PATCH_ANCHOR(time);

namespace {

// A relative sleep of ns as a deadline: 0 (or less) is "now", never "forever".
Deadline sleep_deadline(std::int64_t ns) noexcept { return ns <= 0 ? now_ns() : deadline_in(ns); }

// Parks until the deadline; 0 when it passed, else the errno (ECANCELED, ETIMEDOUT, EINTR).
// A deadline already due (sleep(0)) yields once: the other ready fibers run, as gevent's sleep(0).
int sleep_until(Hub& h, Deadline d) {
  io_kill_point(h);
  const int saved = errno;
  int why;
  if (d <= now_ns()) {
    switch (h.yield_nothrow()) {  // returns at once, without yielding, for a kill or an expired scope
      case WakeReason::killed: io_note_killed(h); why = ECANCELED; break;
      case WakeReason::scope_timeout: scope_fire_pending(h.running()); why = ETIMEDOUT; break;
      default: why = 0; break;
    }
    errno = saved;
    return why;
  }
  do {
    why = io_sleep(h, d, "sleep");
  } while (why == EAGAIN);  // a stray wake-up: keep sleeping
  errno = saved;
  return why;
}

void set_rem(struct timespec* rem, Deadline d) {
  if (!rem) return;
  const std::int64_t left = std::max<std::int64_t>(0, d - now_ns());
  rem->tv_sec = static_cast<time_t>(left / 1'000'000'000);
  rem->tv_nsec = static_cast<long>(left % 1'000'000'000);
}

bool valid(const struct timespec* ts) { return ts && ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1'000'000'000; }

}  // namespace

GREENEV_PATCH unsigned int sleep(unsigned int s) {
  Hub* h = coop_hub();
  if (!h) return real().sleep(s);
  const Deadline d = sleep_deadline(static_cast<std::int64_t>(s) * 1'000'000'000);
  if (sleep_until(*h, d) == 0) return 0;
  const std::int64_t left = std::max<std::int64_t>(0, d - now_ns());
  return static_cast<unsigned>((left + 500'000'000) / 1'000'000'000);  // rounded, as glibc's sleep
}

GREENEV_PATCH int usleep(useconds_t us) {
  Hub* h = coop_hub();
  if (!h) return real().usleep(us);
  if (int why = sleep_until(*h, sleep_deadline(static_cast<std::int64_t>(us) * 1000))) {
    errno = why;
    return -1;
  }
  return 0;
}

GREENEV_PATCH int nanosleep(const struct timespec* req, struct timespec* rem) {
  Hub* h = coop_hub();
  if (!h || !valid(req)) return real().nanosleep(req, rem);
  const Deadline d = deadline_from_ts(req);
  if (int why = sleep_until(*h, d)) {
    set_rem(rem, d);
    errno = why;
    return -1;
  }
  return 0;
}

GREENEV_PATCH int clock_nanosleep(clockid_t clk, int flags, const struct timespec* req, struct timespec* rem) {
  Hub* h = coop_hub();
  if (!h || !valid(req) || (clk != CLOCK_MONOTONIC && clk != CLOCK_REALTIME && clk != CLOCK_BOOTTIME))
    return real().clock_nanosleep(clk, flags, req, rem);
  Deadline d;
  if (flags & TIMER_ABSTIME) {
    struct timespec now;
    clock_gettime(clk, &now);
    const std::int64_t ns = (static_cast<std::int64_t>(req->tv_sec) - now.tv_sec) * 1'000'000'000 +
                            (req->tv_nsec - now.tv_nsec);
    d = sleep_deadline(ns);
  } else {
    d = deadline_from_ts(req);
  }
  if (int why = sleep_until(*h, d)) {
    if (!(flags & TIMER_ABSTIME)) set_rem(rem, d);
    return why;
  }
  return 0;
}

GREENEV_PATCH_ALIAS(__nanosleep, nanosleep, int __nanosleep(const struct timespec*, struct timespec*));
