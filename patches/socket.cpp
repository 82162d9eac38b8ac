// patches/socket.cpp — the socket family.
//
// Yield (inside a fiber, patching on): connect (blocking-connect semantics: EINPROGRESS -> wait
//   writable -> SO_ERROR; a user-non-blocking socket gets EINPROGRESS), accept, accept4, recv,
//   recvfrom, recvmsg, recvmmsg, send, sendto, sendmsg, sendmmsg (+ __connect, __send, __recv).
//   Sends add MSG_NOSIGNAL (EPIPE, never SIGPIPE) and loop over short writes for blocking-view
//   stream sockets; MSG_DONTWAIT gets EAGAIN at once. MSG_WAITALL (recv, recvfrom, recvmsg) loops on
//   blocking stream sockets only (a datagram is one message); MSG_PEEK|MSG_WAITALL waits until the
//   whole count is queued and peeks once (see peek_all).
// Bookkeeping only, never yield: socket, socketpair (the new fds start "unknown" in the fd table),
//   setsockopt (SO_RCVTIMEO/SO_SNDTIMEO recorded: EAGAIN on expiry, as the kernel does; timeouts
//   set before greenev saw a socket are read back from the kernel when the fd table prepares it).
// Threads without a hub: the real call; on an fd greenev made non-blocking underneath, EAGAIN is
//   turned back into the blocking behaviour, kernel timeouts included (passthrough_blocking).
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
// way the blocking call would have, SO_SNDTIMEO included (expiry: EINPROGRESS, as the kernel says).
int connect_finish_blocking(int fd) {
  Deadline dl = -1;
  if (int e = passthrough_wait(fd, kWrite, dl)) {
    errno = e == EAGAIN ? EINPROGRESS : e;
    return -1;
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -1;
  if (err) {
    errno = err;
    return -1;
  }
  return 0;
}

// MSG_WAITALL loops only where the kernel's does: a blocking-view stream socket (a datagram or
// seqpacket socket returns one message; a non-blocking one what is there).
bool waitall_loops(int fd, int flags) noexcept {
  if (!(flags & MSG_WAITALL) || (flags & MSG_DONTWAIT)) return false;
  FdInfo* fi;
  const FdState st = fd_state(fd, fi);
  return st.kind() == FdKind::socket && st.type() == SockType::stream && st.blocking_view();
}

// Stream MSG_WAITALL without MSG_PEEK: op(done) receives into the buffer from offset done. After
// partial progress an error, expiry or EOF returns the count so far, as the kernel's call does.
template <class Op>
ssize_t recv_all(Hub& h, int fd, std::size_t total, Op&& op) {
  IoCtx ctx;
  std::size_t done = 0;
  for (;;) {
    const ssize_t r = io_call(h, fd, kRead, false, "io_read", ctx, [&] { return op(done); });
    if (r < 0) return done > 0 ? static_cast<ssize_t>(done) : -1;
    done += static_cast<std::size_t>(r);
    if (done >= total || r == 0) return static_cast<ssize_t>(done);
  }
}

// Stream MSG_PEEK|MSG_WAITALL: peeking again at an offset would copy the head of the queue twice
// (14.7), so wait until `total` bytes are queued and peek once from the start. Readiness cannot say
// "n bytes queued" (the fd stays readable), so the wait between peeks is a short back-off sleep
// (0.2 ms doubling to 20 ms), bounded by SO_RCVTIMEO; a Timeout/kill/expiry returns the partial peek.
template <class Op>
ssize_t peek_all(Hub& h, int fd, std::size_t total, Op&& peek) {
  FdInfo* fi;
  (void)fd_state(fd, fi);
  const Deadline until = fi ? deadline_in(fi->rcvtimeo.load(std::memory_order_relaxed)) : kForever;
  std::int64_t backoff = 200'000;
  IoCtx ctx;
  for (;;) {
    const ssize_t r = io_call(h, fd, kRead, false, "io_read", ctx, [&] { return peek(); });
    if (r <= 0 || static_cast<std::size_t>(r) >= total) return r;
    const Deadline now = now_ns();
    if (now >= until) return r;
    const Deadline wake = until - now > backoff ? now + backoff : until;
    const int saved = errno;
    const int why = io_sleep(h, wake, "io_read");
    errno = saved;
    if (why != 0 && why != EAGAIN) return r;
    if (backoff < 20'000'000) backoff *= 2;
  }
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
    if (r < 0 && errno == EINPROGRESS && passthrough_applies(fd)) return connect_finish_blocking(fd);
    return r;
  }
  FdInfo* fi;
  const FdState st = fd_state(fd, fi);
  if (st.kind() != FdKind::socket) return real().connect(fd, addr, len);
  const int saved = errno;
  const bool nonblock = st.user_nonblock();
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
  if (waitall_loops(fd, flags)) {
    if (flags & MSG_PEEK) return peek_all(*h, fd, n, [&] { return real().recvfrom(fd, buf, n, flags, addr, alen); });
    return recv_all(*h, fd, n, [&](size_t done) {
      return real().recvfrom(fd, static_cast<char*>(buf) + done, n - done, flags, addr, alen);
    });
  }
  return io_call(*h, fd, kRead, flags & MSG_DONTWAIT, "io_read",
                 [&] { return real().recvfrom(fd, buf, n, flags, addr, alen); });
}

GREENEV_PATCH ssize_t recv(int fd, void* buf, size_t n, int flags) {
  Hub* h = coop_hub();
  if (!h) return passthrough_blocking(fd, kRead, [&] { return real().recv(fd, buf, n, flags); });
  if (waitall_loops(fd, flags)) {
    if (flags & MSG_PEEK) return peek_all(*h, fd, n, [&] { return real().recv(fd, buf, n, flags); });
    return recv_all(*h, fd, n, [&](size_t done) { return real().recv(fd, static_cast<char*>(buf) + done, n - done, flags); });
  }
  return io_call(*h, fd, kRead, flags & MSG_DONTWAIT, "io_read", [&] { return real().recv(fd, buf, n, flags); });
}

GREENEV_PATCH ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  Hub* h = coop_hub();
  if (!h) return passthrough_blocking(fd, kRead, [&] { return real().recvmsg(fd, msg, flags); });
  if (waitall_loops(fd, flags)) {
    const int cnt = static_cast<int>(msg->msg_iovlen);
    const std::size_t total = iov_total(msg->msg_iov, cnt);
    if (flags & MSG_PEEK) {
      const socklen_t namelen = msg->msg_namelen;
      const size_t controllen = msg->msg_controllen;
      return peek_all(*h, fd, total, [&] {
        msg->msg_namelen = namelen;  // the kernel shrank them on the previous peek
        msg->msg_controllen = controllen;
        return real().recvmsg(fd, msg, flags);
      });
    }
    return recv_all(*h, fd, total, [&](size_t done) -> ssize_t {
      if (done == 0) return real().recvmsg(fd, msg, flags);  // name and ancillary data come first
      return with_iov_from(msg->msg_iov, cnt, done, [&](const struct iovec* iov, int c) {
        struct msghdr m{};
        m.msg_iov = const_cast<struct iovec*>(iov);
        m.msg_iovlen = static_cast<size_t>(c);
        const ssize_t r = real().recvmsg(fd, &m, flags);
        if (r >= 0) msg->msg_flags |= m.msg_flags & ~MSG_CTRUNC;
        return r;
      });
    });
  }
  return io_call(*h, fd, kRead, flags & MSG_DONTWAIT, "io_read", [&] { return real().recvmsg(fd, msg, flags); });
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
    return real().sendto(fd, static_cast<const char*>(buf) + done, n - done, flags | MSG_NOSIGNAL, addr, alen);
  });
}

GREENEV_PATCH ssize_t send(int fd, const void* buf, size_t n, int flags) {
  Hub* h = coop_hub();
  if (!h) return passthrough_blocking(fd, kWrite, [&] { return real().send(fd, buf, n, flags); });
  return io_xfer_all(*h, fd, kWrite, n, flags & MSG_DONTWAIT, "io_write", [&](size_t done) {
    return real().send(fd, static_cast<const char*>(buf) + done, n - done, flags | MSG_NOSIGNAL);
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
                         return real().sendmsg(fd, &m, flags | MSG_NOSIGNAL);
                       });
                     });
}

GREENEV_PATCH int sendmmsg(int fd, struct mmsghdr* v, unsigned int n, int flags) {
  Hub* h = coop_hub();
  if (!h) return passthrough_blocking(fd, kWrite, [&] { return real().sendmmsg(fd, v, n, flags); });
  return io_call(*h, fd, kWrite, flags & MSG_DONTWAIT, "io_write",
                 [&] { return real().sendmmsg(fd, v, n, flags | MSG_NOSIGNAL); });
}

GREENEV_PATCH int setsockopt(int fd, int level, int name, const void* val, socklen_t len) noexcept {
  const int r = real().setsockopt(fd, level, name, val, len);
  if (r == 0 && level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO) &&
      len >= static_cast<socklen_t>(sizeof(struct timeval))) {
    const auto* tv = static_cast<const struct timeval*>(val);
    const std::int64_t ns = static_cast<std::int64_t>(tv->tv_sec) * 1'000'000'000 + tv->tv_usec * 1000;
    // An unknown entry reads the kernel's value when it is prepared; one being prepared right now
    // may have read the old value: wait for it, then store.
    if (FdInfo* fi = fd_info_if(fd)) {
      FdState st = fi->load();
      if (st.kind() == FdKind::preparing) st = fd_state(fd, fi);
      if (fi && st.ready()) (name == SO_RCVTIMEO ? fi->rcvtimeo : fi->sndtimeo).store(ns, std::memory_order_relaxed);
    }
  }
  return r;
}

GREENEV_PATCH_ALIAS(__connect, connect, int __connect(int, const struct sockaddr*, socklen_t));
GREENEV_PATCH_ALIAS(__send, send, ssize_t __send(int, const void*, size_t, int));
GREENEV_PATCH_ALIAS(__recv, recv, ssize_t __recv(int, void*, size_t, int));
