// patches/unistd.cpp — read/write and descriptor lifetime.
//
// Yield (inside a fiber, patching on, fd a socket or pipe): read, readv, write, writev (+ __read,
//   __write). Writes loop over short writes unless the user made the fd non-blocking. On sockets
//   write/writev become send/sendmsg with MSG_NOSIGNAL; on pipes SIGPIPE is blocked around the
//   write and consumed if it fired: EPIPE is returned, the process is never killed (shared fds 0-2
//   keep the default behaviour, as their flags are left alone).
// Bookkeeping, never yield: close (+ __close: wakes the waiters of every hub on the fd with EBADF
//   and stops their watchers BEFORE the real close), close_range, closefrom, dup, dup2 (+ __dup2), dup3 (the copy shares the description:
//   it inherits what the table knew), pipe (+ __pipe), pipe2 (new fds start "unknown").
// Thread pool (inside a fiber, fd a regular file or block device): the same calls run whole on the
//   pool through io_call's FdKind::file branch (see patches/file.cpp, which also has pread/pwrite,
//   preadv/pwritev, fsync/fdatasync and the switch that keeps file calls in place).
// Pass through: ttys and other non-pollable, non-file fds.
#include "patch.hpp"

#include <linux/close_range.h>
#include <sys/socket.h>

using namespace greenev::detail;

GREENEV_PATCH_ANCHOR(unistd);

namespace {

constexpr int kRead = kIoRead;
constexpr int kWrite = kIoWrite;

ssize_t pipe_write(int fd, const void* buf, size_t n) {
  SigpipeBlock b;
  const ssize_t r = real().write(fd, buf, n);
  if (r < 0 && errno == EPIPE) b.consume();
  return r;
}

ssize_t pipe_writev(int fd, const struct iovec* iov, int cnt) {
  SigpipeBlock b;
  const ssize_t r = real().writev(fd, iov, cnt);
  if (r < 0 && errno == EPIPE) b.consume();
  return r;
}

}  // namespace

GREENEV_PATCH ssize_t read(int fd, void* buf, size_t n) {
  Hub* h = coop_hub();
  if (!h) return passthrough_blocking(fd, kRead, [&] { return real().read(fd, buf, n); });
  FdInfo* fi;
  if (fd_kind(fd, fi) == FdKind::file) return io_file_read(fd, buf, n, -1);  // page-cache hits in place
  return io_call(*h, fd, kRead, false, "io_read", [&] { return real().read(fd, buf, n); });
}

GREENEV_PATCH ssize_t readv(int fd, const struct iovec* iov, int cnt) {
  Hub* h = coop_hub();
  if (!h) return passthrough_blocking(fd, kRead, [&] { return real().readv(fd, iov, cnt); });
  return io_call(*h, fd, kRead, false, "io_read", [&] { return real().readv(fd, iov, cnt); });
}

GREENEV_PATCH ssize_t write(int fd, const void* buf, size_t n) {
  Hub* h = coop_hub();
  if (!h) return passthrough_blocking(fd, kWrite, [&] { return real().write(fd, buf, n); });
  FdInfo* fi;
  const auto* p = static_cast<const char*>(buf);
  switch (fd_kind(fd, fi)) {
    case FdKind::socket:
      return io_xfer_all(*h, fd, kWrite, n, false, "io_write",
                         [&](size_t done) { return real().send(fd, p + done, n - done, MSG_NOSIGNAL); });
    case FdKind::pipe:
      return io_xfer_all(*h, fd, kWrite, n, false, "io_write",
                         [&](size_t done) { return pipe_write(fd, p + done, n - done); });
    default:
      return io_xfer_all(*h, fd, kWrite, n, false, "io_write",
                         [&](size_t done) { return real().write(fd, p + done, n - done); });
  }
}

GREENEV_PATCH ssize_t writev(int fd, const struct iovec* iov, int cnt) {
  Hub* h = coop_hub();
  if (!h) return passthrough_blocking(fd, kWrite, [&] { return real().writev(fd, iov, cnt); });
  FdInfo* fi;
  const FdKind k = fd_kind(fd, fi);
  return io_xfer_all(*h, fd, kWrite, iov_total(iov, cnt), false, "io_write", [&](size_t done) {
    return with_iov_from(iov, cnt, done, [&](const struct iovec* v, int c) -> ssize_t {
      if (k == FdKind::socket) {
        struct msghdr m{};
        m.msg_iov = const_cast<struct iovec*>(v);
        m.msg_iovlen = static_cast<size_t>(c);
        return real().sendmsg(fd, &m, MSG_NOSIGNAL);
      }
      if (k == FdKind::pipe) return pipe_writev(fd, v, c);
      return real().writev(fd, v, c);
    });
  });
}

GREENEV_PATCH int close(int fd) {
  io_before_close(fd);
  return real().close(fd);
}

// close_range and closefrom: every number in the range the table knows goes through the same
// bookkeeping as close() (CLOSE_RANGE_CLOEXEC closes nothing).
GREENEV_PATCH int close_range(unsigned first, unsigned last, int flags) noexcept {
  if (!(flags & CLOSE_RANGE_CLOEXEC) && first <= last) fd_for_each_known(first, last, io_before_close);
  return real().close_range(first, last, flags);
}

GREENEV_PATCH void closefrom(int lowfd) noexcept {
  const unsigned first = lowfd < 0 ? 0u : static_cast<unsigned>(lowfd);
  fd_for_each_known(first, ~0u, io_before_close);
  real().closefrom(lowfd);
}

GREENEV_PATCH int dup(int fd) noexcept {
  const int r = real().dup(fd);
  if (r >= 0) fd_copy(r, fd);
  return r;
}

GREENEV_PATCH int dup2(int fd, int fd2) noexcept {
  if (fd == fd2) return real().dup2(fd, fd2);
  io_before_close(fd2);  // dup2 closes fd2 first
  const int r = real().dup2(fd, fd2);
  if (r >= 0) fd_copy(r, fd);
  return r;
}

GREENEV_PATCH int dup3(int fd, int fd2, int flags) noexcept {
  if (fd != fd2) io_before_close(fd2);
  const int r = real().dup3(fd, fd2, flags);
  if (r >= 0) fd_copy(r, fd);
  return r;
}

GREENEV_PATCH int pipe(int fds[2]) noexcept {
  const int r = real().pipe(fds);
  if (r == 0) {
    fd_reset(fds[0]);
    fd_reset(fds[1]);
  }
  return r;
}

GREENEV_PATCH int pipe2(int fds[2], int flags) noexcept {
  const int r = real().pipe2(fds, flags);
  if (r == 0) {
    fd_reset(fds[0]);
    fd_reset(fds[1]);
  }
  return r;
}

GREENEV_PATCH_ALIAS(__read, read, ssize_t __read(int, void*, size_t));
GREENEV_PATCH_ALIAS(__write, write, ssize_t __write(int, const void*, size_t));
GREENEV_PATCH_ALIAS(__close, close, int __close(int));
GREENEV_PATCH_ALIAS(__dup2, dup2, int __dup2(int, int) noexcept);
GREENEV_PATCH_ALIAS(__pipe, pipe, int __pipe(int*) noexcept);
