// runtime/process/child_watch.cpp — pidfds and the cooperative wait loop (see child_watch.hpp).
//
// Back-off polling is the fallback, never the default: it costs a syscall per step and adds up
// to 50 ms of latency to a wait. The pidfd path costs one pidfd_open per wait and wakes at once.
#include "process/child_watch.hpp"

#include "io/io.hpp"

#include <greenev/subprocess.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace greenev::detail {

namespace {

constexpr Deadline kFirstBackoff = 1'000'000;   // 1 ms
constexpr Deadline kMaxBackoff = 50'000'000;    // 50 ms

bool probe_pidfd() noexcept {
  if (const char* v = std::getenv("GREENEV_PIDFD"))
    if (std::strcmp(v, "0") == 0 || std::strcmp(v, "off") == 0) return false;
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
  if (fd < 0) return false;
  real().close(fd);
  return true;
}

}  // namespace

bool pidfd_available() noexcept {
  static const bool ok = probe_pidfd();
  return ok;
}

int open_pidfd(pid_t pid) noexcept {
  if (!pidfd_available()) {
    errno = ENOSYS;
    return -1;
  }
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));  // always O_CLOEXEC
  if (fd >= 0) fd_reset(fd);
  return fd;
}

void close_owned_fd(int fd) noexcept {
  if (fd < 0) return;
  io_before_close(fd);
  real().close(fd);
}

pid_t sys_wait4(pid_t pid, int* status, int options, struct rusage* ru) noexcept {
  return static_cast<pid_t>(syscall(SYS_wait4, pid, status, options, ru));
}

int sys_waitid(idtype_t type, id_t id, siginfo_t* info, int options) noexcept {
  return static_cast<int>(syscall(SYS_waitid, type, id, info, options, nullptr));
}

namespace {

// Parks until `pfd` is readable (the child exited) or, without one, for the next back-off step.
// 0: try again; EAGAIN: the caller's deadline passed; else the errno to fail with.
int park_once(Hub& h, int pfd, Deadline deadline, Deadline& backoff) noexcept {
  if (pfd >= 0) return io_wait(h, pfd, kIoRead, deadline, "waitpid");
  const Deadline now = now_ns();
  if (deadline <= now) return EAGAIN;
  const Deadline step = std::min(deadline, now + backoff);
  backoff = std::min(backoff * 2, kMaxBackoff);
  const int why = io_sleep(h, step, "waitpid");
  if (why == EAGAIN) return 0;  // a stray wake-up: just try again
  if (why == 0 && step == deadline) return EAGAIN;
  return why;
}

}  // namespace

pid_t coop_wait4(Hub& h, pid_t pid, int* status, int options, struct rusage* ru, Deadline deadline,
                 int pidfd) noexcept {
  const int saved = errno;
  const bool exit_only = (options & (WUNTRACED | WCONTINUED)) == 0;
  int own = -1;
  Deadline backoff = kFirstBackoff;
  pid_t r;
  for (;;) {
    r = sys_wait4(pid, status, options | WNOHANG, ru);
    if (r < 0 && errno == EINTR) continue;
    if (r != 0) break;
    if (pidfd < 0 && pid > 0 && exit_only) pidfd = own = open_pidfd(pid);  // -1: poll instead
    const int why = park_once(h, pidfd, deadline, backoff);
    if (why == EAGAIN) break;  // r == 0: the deadline, as WNOHANG
    if (why) {
      errno = why;
      r = -1;
      close_owned_fd(own);
      return r;
    }
  }
  close_owned_fd(own);
  if (r >= 0) errno = saved;
  return r;
}

int coop_waitid(Hub& h, idtype_t type, id_t id, siginfo_t* info, int options, Deadline deadline) noexcept {
  const int saved = errno;
  int pfd = -1, own = -1;
  if (type == static_cast<idtype_t>(P_PIDFD)) pfd = static_cast<int>(id);
  const bool exit_only = (options & (WSTOPPED | WCONTINUED)) == 0;
  Deadline backoff = kFirstBackoff;
  int r;
  for (;;) {
    info->si_pid = 0;
    r = sys_waitid(type, id, info, options | WNOHANG);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || info->si_pid != 0) break;
    if (pfd < 0 && type == P_PID && exit_only) pfd = own = open_pidfd(static_cast<pid_t>(id));
    const int why = park_once(h, exit_only ? pfd : -1, deadline, backoff);
    if (why == EAGAIN) break;
    if (why) {
      errno = why;
      close_owned_fd(own);
      return -1;
    }
  }
  close_owned_fd(own);
  if (r >= 0) errno = saved;
  return r;
}

}  // namespace greenev::detail

namespace greenev {

const char* child_watch_method() noexcept { return detail::pidfd_available() ? "pidfd" : "poll"; }

}  // namespace greenev
