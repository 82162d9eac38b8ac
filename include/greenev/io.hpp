// greenev/io.hpp — cooperative waits on file descriptors (gevent's wait_read / wait_write).
//
// wait_readable(fd, d) / wait_writable(fd, d) park the calling fiber until the fd is ready, the
// timeout passes (false), the fd is closed by another fiber (std::system_error EBADF), or a kill /
// Timeout scope reaches it (FiberExit / TimeoutError, as at every suspension point). They are what
// the patched libc calls (patches/) use underneath, so code that owns a non-blocking fd can mix
// both freely. One libev watcher per fd and hub stays registered across waits (no epoll_ctl per
// operation); its event set only changes when the set of wanted events changes.
//
// Several fibers waiting on the same fd and direction wait in FIFO order; each readiness event
// wakes the first one, which retries its call (and waits again, at the back, if another fiber got
// the data first). close() of the fd by any fiber of the hub wakes every waiter with EBADF before
// the descriptor is really closed, so a reused fd number never reaches an old waiter.
// Rejected: waking every waiter on each event (thundering herd on a shared listening socket) and
// gevent's "two readers is an error" (a library that shares a socket between fibers would break).
#pragma once
#include <greenev/detail/fiber_base.hpp>

#include <chrono>

namespace greenev {

namespace detail {
inline constexpr int kIoRead = 1;   // same values as libev's EV_READ / EV_WRITE
inline constexpr int kIoWrite = 2;

// Nothrow: parks until fd is ready for `events` (kIoRead and/or kIoWrite), the deadline passes
// (timed_out), or the fiber is killed / its Timeout scope expires. A close() of fd by another
// fiber wakes it with `woken`; the caller's retry then sees EBADF from the call itself.
GREENEV_API WakeReason wait_fd(int fd, int events, Deadline deadline) noexcept;
// Throwing form behind wait_readable/wait_writable: true when ready, false on timeout.
GREENEV_API bool wait_fd_or_throw(int fd, int events, Deadline deadline);
}  // namespace detail

template <class Rep = long, class Per = std::ratio<1>>
bool wait_readable(int fd, std::chrono::duration<Rep, Per> timeout = std::chrono::duration<Rep, Per>::max()) {
  return detail::wait_fd_or_throw(fd, detail::kIoRead,
                                  timeout == std::chrono::duration<Rep, Per>::max() ? detail::kForever
                                                                                    : detail::deadline_after(timeout));
}

template <class Rep = long, class Per = std::ratio<1>>
bool wait_writable(int fd, std::chrono::duration<Rep, Per> timeout = std::chrono::duration<Rep, Per>::max()) {
  return detail::wait_fd_or_throw(fd, detail::kIoWrite,
                                  timeout == std::chrono::duration<Rep, Per>::max() ? detail::kForever
                                                                                    : detail::deadline_after(timeout));
}

}  // namespace greenev
