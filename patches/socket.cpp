// patches/socket.cpp — the socket family.
//
// Yield (inside a fiber, patching on): connect (blocking-connect semantics: EINPROGRESS -> wait
//   writable -> SO_ERROR; a user-non-blocking socket gets EINPROGRESS), accept, accept4, recv,
//   recvfrom, recvmsg, recvmmsg, send, sendto, sendmsg, sendmmsg (+ __connect, __send, __recv).
//   Sends add MSG_NOSIGNAL (EPIPE, never SIGPIPE; not with GREENEV_SIGPIPE=posix) and loop over short writes for blocking-view
//   stream sockets; MSG_DONTWAIT gets EAGAIN at once; recv/recvfrom with MSG_WAITALL loop too.
// Bookkeeping only, never yield: socket, socketpair (the new fds start "unknown" in the fd table),
//   setsockopt (SO_RCVTIMEO/SO_SNDTIMEO recorded: EAGAIN on expiry, as the kernel does).
// Pass through: shutdown, getsockopt (the real socket keeps the user's timeouts too) and
//   everything not listed.
#include "patch.hpp"

#include <sys/socket.h>

using namespace greenev::detail;

GREENEV_PATCH_ANCHOR(socket);

namespace {

constexpr int kRead = kIoRead;
constexpr int kWrite = kIoWrite;

// A thread without a hub met an fd greenev made non-blocking underneath: finish the connect the
// way the blocking call would have.
int connect_finish_blocking(int fd) {
  struct pollfd p{fd, POLLOUT, 0};
  while (real().poll(&p, 1, -1) < 0)
    if (errno != EINTR) return -1;
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -1;
  if (err) {
    errno = err;
    return -1;
  }
  return 0;
}

bool forced_blocking(int fd) noexcept {
  FdInfo* fi = fd_info_if(fd);
  return fi && fi->forced.load(std::memory_order_relaxed) && !fi->user_nonblock.load(std::memory_order_relaxed);
}

}  // namespace

GREENEV_PATCH int socket(int domain, int type, int protocol) noexcept {
  const int fd = real().socket(domain, type, protocol);
  if (fd >= 0) fd_reset(fd);
  return fd;
}

GREENEV_PATCH int socketpair(int domain, int type, int protocol, int sv[2]) noexcept {
  const int r = real().socketpair(domain, type, protocol, sv);
  if (r == 0) {
    fd_reset(sv[0]);
    fd_reset(sv[1]);
  }
  return r;
}

GREENEV_PATCH int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  Hub* h = coop_hub();
  if (!h) {
    const int r = real().connect(fd, addr, len);
    if (r < 0 && errno == EINPROGRESS && forced_blocking(fd)) return connect_finish_blocking(fd);
    return r;
  }
  FdInfo* fi;
  const FdKind k = fd_kind(fd, fi);
  if (k != FdKind::socket) return real().connect(fd, addr, len);
  const int saved = errno;
  const bool nonblock = fi->user_nonblock.load(std::memory_order_relaxed);
  io_kill_point(*h);
  IoCtx ctx;
  for (;;) {
    if (real().connect(fd, addr, len) == 0) {
      errno = saved;
      return 0;
    }
    const int e = errno;
    if (nonblock) return -1;
    if (!ctx.deadline_set) {
      ctx.deadline_set = true;
      ctx.deadline = deadline_in(fi->sndtimeo.load(std::memory_order_relaxed));
    }
    if (e == EAGAIN) {  // AF_UNIX: the listener's backlog is full; a blocking connect waits
      if (int why = io_wait(*h, fd, kWrite, ctx.deadline, "connect")) {
        errno = why;
        return -1;
      }
      continue;
    }
    if (e != EINPROGRESS && e != EINTR) return -1;
    for (;;) {
      if (int why = io_wait(*h, fd, kWrite, ctx.deadline, "connect")) {
        errno = why == EAGAIN ? EINPROGRESS : why;  // the kernel's blocking connect: EINPROGRESS on SO_SNDTIMEO
        return -1;
      }
      int err = 0;
      socklen_t el = sizeof err;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) return -1;
      if (err) {
        errno = err;
        return -1;
      }
      struct sockaddr_storage peer;
      socklen_t pl = sizeof peer;
      if (getpeername(fd, reinterpret_cast<struct sockaddr*>(&peer), &pl) == 0) {
        errno = saved;
        return 0;
      }
      if (errno != ENOTCONN) return -1;  // still in progress: a spurious wake-up, wait again
    }
  }
}

GREENEV_PATCH int accept(int fd, struct sockaddr* addr, socklen_t* len) {
  Hub* h = coop_hub();
  int r = h ? io_call(*h, fd, kRead, false, "accept", [&] { return real().accept(fd, addr, len); })
            : passthrough_blocking(fd, kRead, [&] { return real().accept(fd, addr, len); });
  if (r >= 0) fd_reset(r);
  return r;
}

GREENEV_PATCH int accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
  Hub* h = coop_hub();
  int r = h ? io_call(*h, fd, kRead, false, "accept", [&] { return real().accept4(fd, addr, len, flags); })
            : passthrough_blocking(fd, kRead, [&] { return real().accept4(fd, addr, len, flags); });
  if (r >= 0) fd_reset(r);
  return r;
}

GREENEV_PATCH ssize_t recvfrom(int fd, void* buf, size_t n, int flags, struct sockaddr* addr, socklen_t* alen) {
  Hub* h = coop_hub();
  if (!h) return passthrough_blocking(fd, kRead, [&] { return real().recvfrom(fd, buf, n, flags, addr, alen); });
  const bool dontwait = flags & MSG_DONTWAIT;
  if ((flags & MSG_WAITALL) && !dontwait)
    return io_xfer_all(*h, fd, kRead, n, false, "io_read", [&](size_t done) {
      return real().recvfrom(fd, static_cast<char*>(buf) + done, n - done, flags, addr, alen);
    });
  return io_call(*h, fd, kRead, dontwait, "io_read", [&] { return real().recvfrom(fd, buf, n, flags, addr, alen); });
}

GREENEV_PATCH ssize_t recv(int fd, void* buf, size_t n, int flags) {
  Hub* h = coop_hub();
  if (!h) return passthrough_blocking(fd, kRead, [&] { return real().recv(fd, buf, n, flags); });
  const bool dontwait = flags & MSG_DONTWAIT;
  if ((flags & MSG_WAITALL) && !dontwait)
    return io_xfer_all(*h, fd, kRead, n, false, "io_read", [&](size_t done) {
      return real().recv(fd, static_cast<char*>(buf) + done, n - done, flags);
    });
  return io_call(*h, fd, kRead, dontwait, "io_read", [&] { return real().recv(fd, buf, n, flags); });
}

GREENEV_PATCH ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  Hub* h = coop_hub();
  if (!h) return passthrough_blocking(fd, kRead, [&] { return real().recvmsg(fd, msg, flags); });
  ssize_t r = io_call(*h, fd, kRead, flags & MSG_DONTWAIT, "io_read", [&] { return real().recvmsg(fd, msg, flags); });
  return r;
}

GREENEV_PATCH int recvmmsg(int fd, struct mmsghdr* v, unsigned int n, int flags, struct timespec* timeout) {
  Hub* h = coop_hub();
  if (!h) return passthrough_blocking(fd, kRead, [&] { return real().recvmmsg(fd, v, n, flags, timeout); });
  return io_call(*h, fd, kRead, flags & MSG_DONTWAIT, "io_read",
                 [&] { return real().recvmmsg(fd, v, n, flags, timeout); });
}

GREENEV_PATCH ssize_t sendto(int fd, const void* buf, size_t n, int flags, const struct sockaddr* addr, socklen_t alen) {
  Hub* h = coop_hub();
  if (!h) return passthrough_blocking(fd, kWrite, [&] { return real().sendto(fd, buf, n, flags, addr, alen); });
  return io_xfer_all(*h, fd, kWrite, n, flags & MSG_DONTWAIT, "io_write", [&](size_t done) {
    return real().sendto(fd, static_cast<const char*>(buf) + done, n - done, flags | sigpipe_flag(), addr, alen);
  });
}

GREENEV_PATCH ssize_t send(int fd, const void* buf, size_t n, int flags) {
  Hub* h = coop_hub();
  if (!h) return passthrough_blocking(fd, kWrite, [&] { return real().send(fd, buf, n, flags); });
  return io_xfer_all(*h, fd, kWrite, n, flags & MSG_DONTWAIT, "io_write", [&](size_t done) {
    return real().send(fd, static_cast<const char*>(buf) + done, n - done, flags | sigpipe_flag());
  });
}

GREENEV_PATCH ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  Hub* h = coop_hub();
  if (!h) return passthrough_blocking(fd, kWrite, [&] { return real().sendmsg(fd, msg, flags); });
  const int cnt = static_cast<int>(msg->msg_iovlen);
  return io_xfer_all(*h, fd, kWrite, iov_total(msg->msg_iov, cnt), flags & MSG_DONTWAIT, "io_write",
                     [&](size_t done) {
                       return with_iov_from(msg->msg_iov, cnt, done, [&](const struct iovec* iov, int c) {
                         struct msghdr m = *msg;
                         m.msg_iov = const_cast<struct iovec*>(iov);
                         m.msg_iovlen = static_cast<size_t>(c);
                         if (done > 0) {  // ancillary data went with the first part
                           m.msg_control = nullptr;
                           m.msg_controllen = 0;
                         }
                         return real().sendmsg(fd, &m, flags | sigpipe_flag());
                       });
                     });
}

GREENEV_PATCH int sendmmsg(int fd, struct mmsghdr* v, unsigned int n, int flags) {
  Hub* h = coop_hub();
  if (!h) return passthrough_blocking(fd, kWrite, [&] { return real().sendmmsg(fd, v, n, flags); });
  return io_call(*h, fd, kWrite, flags & MSG_DONTWAIT, "io_write",
                 [&] { return real().sendmmsg(fd, v, n, flags | sigpipe_flag()); });
}

GREENEV_PATCH int setsockopt(int fd, int level, int name, const void* val, socklen_t len) noexcept {
  const int r = real().setsockopt(fd, level, name, val, len);
  if (r == 0 && level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO) &&
      len >= static_cast<socklen_t>(sizeof(struct timeval))) {
    const auto* tv = static_cast<const struct timeval*>(val);
    const std::int64_t ns = static_cast<std::int64_t>(tv->tv_sec) * 1'000'000'000 + tv->tv_usec * 1000;
    if (FdInfo* fi = fd_info(fd)) (name == SO_RCVTIMEO ? fi->rcvtimeo : fi->sndtimeo).store(ns, std::memory_order_relaxed);
  }
  return r;
}

GREENEV_PATCH_ALIAS(__connect, connect, int __connect(int, const struct sockaddr*, socklen_t));
GREENEV_PATCH_ALIAS(__send, send, ssize_t __send(int, const void*, size_t, int));
GREENEV_PATCH_ALIAS(__recv, recv, ssize_t __recv(int, void*, size_t, int));
