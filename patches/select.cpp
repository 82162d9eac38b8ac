// patches/select.cpp — select and pselect (+ __select).
//
// Yield (inside a fiber, patching on, nfds <= FD_SETSIZE, timeout not zero): select, pselect. The
// fd_sets are turned into a pollfd array and go through the same path as poll (patches/poll.cpp);
// results map back with the kernel's rules (readable: POLLIN|POLLHUP|POLLERR, writable:
// POLLOUT|POLLERR, exceptional: POLLPRI), an invalid fd gives EBADF, and select() updates the
// timeval with the time left, as Linux does. pselect's mask applies to the non-blocking tries.
// Pass through: a zero timeout, nfds > FD_SETSIZE (the real call reports it).
#include "patch.hpp"

#include <sys/select.h>
#include <vector>

using namespace greenev::detail;

GREENEV_PATCH_ANCHOR(select);

namespace {

int coop_select(Hub& h, int nfds, fd_set* r, fd_set* w, fd_set* e, Deadline deadline, const sigset_t* mask) {
  struct pollfd small[64];
  std::vector<struct pollfd> big;
  struct pollfd* p = small;
  nfds_t n = 0;
  if (nfds > 64) {
    big.resize(static_cast<std::size_t>(nfds));
    p = big.data();
  }
  for (int fd = 0; fd < nfds; ++fd) {
    short ev = 0;
    if (r && FD_ISSET(fd, r)) ev |= POLLIN;
    if (w && FD_ISSET(fd, w)) ev |= POLLOUT;
    if (e && FD_ISSET(fd, e)) ev |= POLLPRI;
    if (ev) p[n++] = {fd, ev, 0};
  }
  const int rc = coop_poll(h, p, n, deadline, mask);
  if (rc < 0) return rc;
  for (nfds_t i = 0; i < n; ++i)
    if (p[i].revents & POLLNVAL) {
      errno = EBADF;
      return -1;
    }
  int count = 0;
  for (nfds_t i = 0; i < n; ++i) {
    const int fd = p[i].fd;
    const short re = p[i].revents;
    if (r && FD_ISSET(fd, r)) {
      if (re & (POLLIN | POLLHUP | POLLERR)) ++count;
      else FD_CLR(fd, r);
    }
    if (w && FD_ISSET(fd, w)) {
      if (re & (POLLOUT | POLLERR)) ++count;
      else FD_CLR(fd, w);
    }
    if (e && FD_ISSET(fd, e)) {
      if (re & POLLPRI) ++count;
      else FD_CLR(fd, e);
    }
  }
  return count;
}

}  // namespace

GREENEV_PATCH int select(int nfds, fd_set* r, fd_set* w, fd_set* e, struct timeval* tv) {
  Hub* h = coop_hub();
  if (!h || nfds < 0 || nfds > FD_SETSIZE || (tv && tv->tv_sec == 0 && tv->tv_usec == 0))
    return real().select(nfds, r, w, e, tv);
  if (tv && (tv->tv_sec < 0 || tv->tv_usec < 0)) {
    errno = EINVAL;
    return -1;
  }
  Deadline deadline = kForever;
  if (tv) {
    struct timespec ts{tv->tv_sec + tv->tv_usec / 1'000'000, (tv->tv_usec % 1'000'000) * 1000};
    deadline = deadline_from_ts(&ts);
  }
  const int rc = coop_select(*h, nfds, r, w, e, deadline, nullptr);
  if (tv) {
    const std::int64_t left = std::max<std::int64_t>(0, deadline - now_ns());
    tv->tv_sec = static_cast<time_t>(left / 1'000'000'000);
    tv->tv_usec = static_cast<suseconds_t>((left % 1'000'000'000) / 1000);
  }
  return rc;
}

GREENEV_PATCH int pselect(int nfds, fd_set* r, fd_set* w, fd_set* e, const struct timespec* ts, const sigset_t* mask) {
  Hub* h = coop_hub();
  if (!h || nfds < 0 || nfds > FD_SETSIZE || (ts && ts->tv_sec == 0 && ts->tv_nsec == 0))
    return real().pselect(nfds, r, w, e, ts, mask);
  if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1'000'000'000)) {
    errno = EINVAL;
    return -1;
  }
  return coop_select(*h, nfds, r, w, e, deadline_from_ts(ts), mask);
}

GREENEV_PATCH_ALIAS(__select, select, int __select(int, fd_set*, fd_set*, fd_set*, struct timeval*));
