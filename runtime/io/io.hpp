// runtime/io/io.hpp — the cooperative I/O layer shared by runtime/io/hub_io.cpp and patches/*.cpp.
//
// Three pieces:
//  * real(): the libc functions the patches replace, resolved once with dlsym(RTLD_NEXT) by a load
//    time constructor (or by the first patched call, if one comes first). Until then read, write,
//    close, poll and nanosleep fall back to raw syscalls, so a patch never calls a null pointer.
//  * The process-wide fd table (runtime/io/fd_table.hpp): one CAS-driven state word per fd number.
//  * io_call(): the one retry helper every patch uses: try the call; retry on EINTR; on EAGAIN
//    (unless the user asked for non-blocking) park until the fd is ready or the deadline; retry.
//    Never waits before trying.
//
// The fd kinds (fd_table.hpp has the states and transitions):
//   socket   cooperative; the real fd is O_NONBLOCK (forced unless the user had set it).
//   pipe     cooperative, as socket (FIFOs too).
//   shared   a socket/pipe at fd 0-2: shared with stdio and other processes, so its flags are left
//            alone; the patches wait for readiness and then make the real (blocking) call.
//   file     a regular file or block device: cannot be polled; inside a fiber the call runs whole on
//            the thread pool (io_file_run, patches/file.cpp), or in place if that is switched off.
//   other    ttys, eventfd, epoll, character devices...: the real call, unchanged.
#pragma once
#include "core/hub.hpp"
#include "io/fd_table.hpp"

#include <greenev/io.hpp>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <csignal>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <unistd.h>
#include <ctime>

namespace greenev::detail {

// ---- the real functions --------------------------------------------------------------------------
#define GREENEV_REAL_FNS(X)                                                                            \
  X(read) X(write) X(readv) X(writev) X(close) X(poll) X(ppoll) X(nanosleep) X(clock_nanosleep)      \
  X(socket) X(socketpair) X(connect) X(accept) X(accept4) X(recv) X(recvfrom) X(recvmsg) X(recvmmsg) \
  X(send) X(sendto) X(sendmsg) X(sendmmsg) X(shutdown) X(dup) X(dup2) X(dup3) X(pipe) X(pipe2)        \
  X(fcntl) X(fcntl64) X(ioctl) X(setsockopt) X(select) X(pselect) X(epoll_wait) X(epoll_pwait)       \
  X(sleep) X(usleep) X(close_range) X(closefrom)

struct RealFns {
#define GREENEV_X(n) decltype(&::n) n = nullptr;
  GREENEV_REAL_FNS(GREENEV_X)
#undef GREENEV_X
};
extern RealFns g_real;
extern bool g_real_ready;
void init_real() noexcept;
inline const RealFns& real() noexcept {
  if (__builtin_expect(!g_real_ready, 0)) init_real();
  return g_real;
}

// ---- switches --------------------------------------------------------------------------------------
extern std::atomic<bool> g_patches_on;
extern constinit thread_local int t_patches_off;

// The hub to cooperate with, or null when the call must go to libc unchanged: no hub on this
// thread (never creates one), the hub fiber itself (loop callbacks), or patching off.
inline Hub* coop_hub() noexcept {
  Hub* h = Hub::current_or_null();
  if (__builtin_expect(h == nullptr, 0)) return nullptr;
  if (h->in_hub_fiber() || t_patches_off != 0 || !g_patches_on.load(std::memory_order_relaxed))
    return nullptr;
  return h;
}

// ---- descriptor lifetime ---------------------------------------------------------------------------
// Before the real close(fd) (or dup2/dup3 over it, close_range): resets the table entry (new
// generation); wakes this hub's waiters on fd with EBADF and stops its watcher; tells every other
// hub that holds a watcher for fd (through its inbox) to do the same for this generation.
// Never allocates on the calling hub's path; the cross-hub message takes the target's inbox mutex.
void io_before_close(int fd) noexcept;

// ---- waiting ---------------------------------------------------------------------------------------
// Parks the current fiber on fd until ready/deadline. Returns 0 when it should retry, else the
// errno the patched call returns: EAGAIN (own deadline: SO_RCVTIMEO/SO_SNDTIMEO), ETIMEDOUT
// (Timeout scope), ECANCELED (kill), EBADF (closed meanwhile), EDEADLK (nothing can wake it).
GREENEV_API int io_wait(Hub& h, int fd, int events, Deadline deadline, const char* reason) noexcept;
// poll() underneath: waits until any of fds is ready for its events, or the deadline.
int io_wait_poll(Hub& h, const struct pollfd* fds, nfds_t n, Deadline deadline) noexcept;
// Parks without an fd (sleep family, poll with nfds = 0). Same return convention; 0 = deadline.
int io_sleep(Hub& h, Deadline deadline, const char* reason) noexcept;

// patches/poll.cpp, shared by poll/ppoll/select/pselect and the fortified variants: the real
// non-blocking poll (ppoll with `mask` when given) first, then park on the fds until the deadline.
int coop_poll(Hub& h, struct pollfd* fds, nfds_t n, Deadline deadline, const sigset_t* mask);
// A relative timespec as a deadline (null: forever).
Deadline deadline_from_ts(const struct timespec* ts) noexcept;

inline Deadline deadline_in(std::int64_t ns) noexcept {
  if (ns <= 0) return kForever;
  Deadline now = now_ns();
  return ns > kForever - now ? kForever : now + ns;
}

// ---- regular files (patches/file.cpp) ------------------------------------------------------------
// Runs call(ctx) — a real call on an FdKind::file descriptor — on the thread pool and waits
// (Interrupt::deferred: the call may use the caller's buffers, so it always completes; a Timeout or
// kill is raised at the next suspension point), or in place when file pooling is off. Returns the
// call's result with its errno; errno is untouched on success.
ssize_t io_file_run(ssize_t (*call)(void*), void* ctx) noexcept;

// read (off < 0: at the file position) / pread on an FdKind::file descriptor inside a fiber: a
// page-cache hit in place through preadv2(RWF_NOWAIT), else (or for the rest) io_file_run.
ssize_t io_file_read(int fd, void* buf, std::size_t n, off_t off) noexcept;

template <class Op>
auto io_file_call(Op& op) -> decltype(op()) {
  return static_cast<decltype(op())>(
      io_file_run([](void* p) -> ssize_t { return static_cast<ssize_t>((*static_cast<Op*>(p))()); }, &op));
}

// ---- the retry helper ------------------------------------------------------------------------------
// State of one patched call across its retries (write loops call io_call once per chunk).
struct IoCtx {
  Deadline deadline = kForever;  // SO_RCVTIMEO / SO_SNDTIMEO, fixed at the first EAGAIN
  bool deadline_set = false;
};

// op() is the real, non-blocking call; returns >= 0 or -1 with errno. events: kIoRead/kIoWrite.
// dontwait: this call must not wait (MSG_DONTWAIT). errno is restored on success, so a value the
// caller set survives the other fibers that ran meanwhile.
template <class Op>
auto io_call(Hub& h, int fd, int events, bool dontwait, const char* reason, IoCtx& ctx, Op&& op)
    -> decltype(op()) {
  const int saved_errno = errno;
  FdInfo* fi;
  const FdState st = fd_state(fd, fi);
  const FdKind kind = st.kind();
  if (kind == FdKind::other) return op();
  if (kind == FdKind::file) return io_file_call(op);
  if (kind == FdKind::shared && !dontwait) {
    // Flags untouched (see above): wait for readiness first, then the real (blocking) call.
    if (int why = io_wait(h, fd, events, kForever, reason)) {
      errno = why;
      return -1;
    }
    auto r = op();
    if (r >= 0) errno = saved_errno;  // other fibers ran meanwhile
    return r;
  }
  const bool nonblock = dontwait || st.user_nonblock();
  for (;;) {
    auto r = op();
    if (r >= 0) {
      errno = saved_errno;
      return r;
    }
    const int e = errno;
    if (e == EINTR) continue;
    if ((e != EAGAIN && e != EWOULDBLOCK) || nonblock) return r;
    if (!ctx.deadline_set) {
      ctx.deadline_set = true;
      if (kind == FdKind::socket)
        ctx.deadline = deadline_in((events & kIoWrite ? fi->sndtimeo : fi->rcvtimeo).load(std::memory_order_relaxed));
    }
    if (int why = io_wait(h, fd, events, ctx.deadline, reason)) {
      errno = why;
      return -1;
    }
  }
}

template <class Op>
auto io_call(Hub& h, int fd, int events, bool dontwait, const char* reason, Op&& op) -> decltype(op()) {
  IoCtx ctx;
  return io_call(h, fd, events, dontwait, reason, ctx, static_cast<Op&&>(op));
}

// Blocking-semantics transfers: loops over short writes (and MSG_WAITALL reads) until `total` bytes
// moved (a blocking write does not return early), unless the fd is non-blocking for the user or
// dontwait. op(done) transfers from offset `done` and returns the real call's result. After partial
// progress an error or expiry returns the count so far, as the kernel's blocking call does; a
// 0 return (EOF) ends the loop.
template <class Op>
ssize_t io_xfer_all(Hub& h, int fd, int events, std::size_t total, bool dontwait, const char* reason, Op&& op) {
  FdInfo* fi;
  const bool loop = !dontwait && fd_state(fd, fi).blocking_view();
  IoCtx ctx;
  std::size_t done = 0;
  for (;;) {
    const ssize_t r = io_call(h, fd, events, dontwait, reason, ctx, [&] { return op(done); });
    if (r < 0) return done > 0 ? static_cast<ssize_t>(done) : -1;
    done += static_cast<std::size_t>(r);
    if (!loop || done >= total || r == 0) return static_cast<ssize_t>(done);
  }
}

// A thread without a hub (or patching off) called on an fd greenev made O_NONBLOCK underneath and
// got EAGAIN although the user's view is blocking: do what the blocking call would have done —
// wait with the real poll, bounded by the socket's SO_RCVTIMEO/SO_SNDTIMEO as the kernel has it
// now (EAGAIN on expiry; EINTR when a signal interrupts a socket call with a timeout, as
// signal(7) says), and retry. Only ever reached on the EAGAIN path: the fast path is untouched.
// passthrough_wait returns 0 to retry, else the errno to fail with; `dl` starts at -1 (not read).
int passthrough_wait(int fd, int events, Deadline& dl) noexcept;
bool passthrough_applies(int fd) noexcept;  // forced underneath, blocking for the user

template <class Op>
auto passthrough_blocking(int fd, int events, Op&& op) -> decltype(op()) {
  auto r = op();
  if (__builtin_expect(r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK), 1)) return r;
  if (!passthrough_applies(fd)) return r;
  Deadline dl = -1;
  for (;;) {
    if (int e = passthrough_wait(fd, events, dl)) {
      errno = e;
      return -1;
    }
    r = op();
    if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return r;
  }
}

// Sockets: SIGPIPE is suppressed per call with MSG_NOSIGNAL. Pipes: SIGPIPE is blocked around the
// write and a SIGPIPE it raised is consumed, so EPIPE is returned instead (the application's own
// SIGPIPE disposition is never changed). Shared fds 0-2 keep the default behaviour.
class SigpipeBlock {
 public:
  SigpipeBlock() noexcept;
  ~SigpipeBlock();
  void consume() noexcept;  // the write failed with EPIPE: discard the SIGPIPE it raised
 private:
  sigset_t old_;
};

}  // namespace greenev::detail
