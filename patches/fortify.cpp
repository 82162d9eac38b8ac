// patches/fortify.cpp — the fortified entry points -D_FORTIFY_SOURCE=2 builds call.
//
// Yield exactly as their plain counterparts (they check the buffer size, then call them):
// __read_chk, __recv_chk, __recvfrom_chk, __poll_chk, __ppoll_chk. A size violation calls glibc's
// __chk_fail (abort with "buffer overflow detected"), as the real ones do.
#include "patch.hpp"

using namespace greenev::detail;

GREENEV_PATCH_ANCHOR(fortify);

extern "C" [[noreturn]] void __chk_fail(void);

GREENEV_PATCH ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
  if (n > buflen) __chk_fail();
  return read(fd, buf, n);
}

GREENEV_PATCH ssize_t __recv_chk(int fd, void* buf, size_t n, size_t buflen, int flags) {
  if (n > buflen) __chk_fail();
  return recv(fd, buf, n, flags);
}

GREENEV_PATCH ssize_t __recvfrom_chk(int fd, void* buf, size_t n, size_t buflen, int flags, struct sockaddr* addr,
                                     socklen_t* alen) {
  if (n > buflen) __chk_fail();
  return recvfrom(fd, buf, n, flags, addr, alen);
}

GREENEV_PATCH int __poll_chk(struct pollfd* fds, nfds_t n, int timeout, size_t fdslen) {
  if (fdslen / sizeof(*fds) < n) __chk_fail();
  return poll(fds, n, timeout);
}

GREENEV_PATCH int __ppoll_chk(struct pollfd* fds, nfds_t n, const struct timespec* ts, const sigset_t* mask,
                              size_t fdslen) {
  if (fdslen / sizeof(*fds) < n) __chk_fail();
  return ppoll(fds, n, ts, mask);
}
