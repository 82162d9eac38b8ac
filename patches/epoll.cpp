// patches/epoll.cpp — epoll_wait and epoll_pwait.
//
// Yield (inside a fiber, patching on, timeout not zero): the real call runs with timeout 0 first;
// if nothing is ready the fiber waits for the epoll fd itself to become readable (an epoll fd is
// pollable: it polls readable when its ready list is not empty), then tries again. The sigmask of
// epoll_pwait applies to the non-blocking tries. Pass through: timeout 0; epoll_create*/epoll_ctl.
#include "patch.hpp"

#include <sys/epoll.h>

using namespace greenev::detail;

GREENEV_PATCH_ANCHOR(epoll);

namespace {

int coop_epoll(Hub& h, int epfd, struct epoll_event* ev, int max, int timeout, const sigset_t* mask) {
  io_kill_point(h);
  const int saved = errno;
  const Deadline deadline = timeout < 0 ? kForever : deadline_in(static_cast<std::int64_t>(timeout) * 1'000'000);
  for (;;) {
    const int r = mask ? real().epoll_pwait(epfd, ev, max, 0, mask) : real().epoll_wait(epfd, ev, max, 0);
    if (r != 0) {
      if (r < 0 && errno == EINTR && !mask) continue;
      if (r > 0) errno = saved;
      return r;
    }
    if (deadline != kForever && now_ns() >= deadline) {
      errno = saved;
      return 0;
    }
    const int why = io_wait(h, epfd, kIoRead, deadline, "epoll_wait", Intr::always);
    if (why == 0 || why == EAGAIN) continue;
    errno = why;
    return -1;
  }
}

}  // namespace

GREENEV_PATCH int epoll_wait(int epfd, struct epoll_event* ev, int max, int timeout) {
  Hub* h = coop_hub();
  if (!h || timeout == 0 || max <= 0) return real().epoll_wait(epfd, ev, max, timeout);
  return coop_epoll(*h, epfd, ev, max, timeout, nullptr);
}

GREENEV_PATCH int epoll_pwait(int epfd, struct epoll_event* ev, int max, int timeout, const sigset_t* mask) {
  Hub* h = coop_hub();
  if (!h || timeout == 0 || max <= 0) return real().epoll_pwait(epfd, ev, max, timeout, mask);
  return coop_epoll(*h, epfd, ev, max, timeout, mask);
}
