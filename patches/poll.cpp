// patches/poll.cpp — poll and ppoll (+ __poll).
//
// Yield (inside a fiber, patching on): poll, ppoll. The real poll runs first with timeout 0; only if
// nothing is ready does the fiber register interest on each fd (the per-fd watchers of
// runtime/io/hub_io.cpp, shared with read/write) and park until any fires or the deadline passes, then
// polls again. timeout 0 never yields; nfds = 0 is a sleep; duplicate fds and fds >= 1024 work.
// POLLHUP/POLLERR are reported when they come with a requested event (an fd asked only for
// neither POLLIN nor POLLOUT is checked at each wake-up, not watched).
// ppoll's signal mask is applied to the non-blocking tries only (the fiber waits with the thread's
// mask: other fibers keep running meanwhile); pending signals it unblocks are delivered by them.
// A kill / Timeout reaching the wait returns -1/ECANCELED / -1/ETIMEDOUT.
#include "patch.hpp"

using namespace greenev::detail;

GREENEV_PATCH_ANCHOR(poll);

namespace greenev::detail {

int coop_poll(Hub& h, struct pollfd* fds, nfds_t n, Deadline deadline, const sigset_t* mask) {
  io_kill_point(h);
  const int saved = errno;
  static const struct timespec zero{};
  for (;;) {
    const int r = mask ? real().ppoll(fds, n, &zero, mask) : real().poll(fds, n, 0);
    if (r != 0) {
      if (r < 0 && errno == EINTR) {
        if (mask) return r;  // ppoll with a mask: a signal it let in ends the call, as in the kernel
        continue;
      }
      if (r > 0) errno = saved;
      return r;
    }
    if (deadline != kForever && now_ns() >= deadline) {
      errno = saved;
      return 0;
    }
    const int why = n == 0 ? io_sleep(h, deadline, "poll") : io_wait_poll(h, fds, n, deadline);
    if (why == 0 || why == EAGAIN) continue;  // ready, deadline (checked above) or a stray wake-up
    errno = why;
    return -1;
  }
}

Deadline deadline_from_ts(const struct timespec* ts) noexcept {
  if (!ts) return kForever;
  const std::int64_t ns = static_cast<std::int64_t>(ts->tv_sec) * 1'000'000'000 + ts->tv_nsec;
  return ns <= 0 ? now_ns() : deadline_in(ns);
}

}  // namespace greenev::detail

GREENEV_PATCH int poll(struct pollfd* fds, nfds_t n, int timeout) {
  Hub* h = coop_hub();
  if (!h || timeout == 0) return real().poll(fds, n, timeout);
  return coop_poll(*h, fds, n, timeout < 0 ? kForever : deadline_in(static_cast<std::int64_t>(timeout) * 1'000'000),
                   nullptr);
}

GREENEV_PATCH int ppoll(struct pollfd* fds, nfds_t n, const struct timespec* ts, const sigset_t* mask) {
  Hub* h = coop_hub();
  if (!h || (ts && ts->tv_sec == 0 && ts->tv_nsec == 0)) return real().ppoll(fds, n, ts, mask);
  if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1'000'000'000)) {
    errno = EINVAL;
    return -1;
  }
  return coop_poll(*h, fds, n, deadline_from_ts(ts), mask);
}

GREENEV_PATCH_ALIAS(__poll, poll, int __poll(struct pollfd*, nfds_t, int));
