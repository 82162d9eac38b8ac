// runtime/launcher/hub_heartbeat.cpp — the worker's end of the heartbeat channel (heartbeat.hpp).
//
// A libev io watcher on the hub (not a fiber): it answers pings from the loop callback, so it
// answers only while the hub gets to poll — a fiber hogging the hub silences it, which is the
// point. The watcher is unref'd (it never keeps a finished program alive, nor hides a LoopExit),
// and it is not counted among the hub's watchers. The SIGABRT handler it installs runs in signal
// context on the hub thread (the master aborts with tgkill on the tid from `hello`): it formats
// the running fiber's name, id and last wait reason into a fixed buffer with no allocation, sends
// it to the master and to stderr, then writes the symbolized stack to stderr (the master's log),
// then lets the default action kill the process (core dumps work).
// Rejected: answering from a dedicated fiber (it would keep the loop alive and appear in every
// fiber dump and exit report of the user's program) and from a helper thread (it would answer even
// while the hub is stuck).
#include "launcher/heartbeat.hpp"

#include "core/hub.hpp"
#include "diag/stack_capture.hpp"

#include <greenev/launcher.hpp>

#include <ev.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace greenev {

namespace {
std::atomic<std::int64_t> g_connections{0};
std::atomic<std::uint64_t> g_requests{0};
}  // namespace

void worker_note_connection(int delta) noexcept { g_connections.fetch_add(delta, std::memory_order_relaxed); }
void worker_note_request() noexcept { g_requests.fetch_add(1, std::memory_order_relaxed); }

namespace detail::launcher {
namespace {

struct Responder {
  ev_io io;
  Hub* hub;
  int fd;
  pid_t tid;
};

// Reachable for the signal handler; one per process (reset by pid after fork).
std::atomic<Responder*> g_responder{nullptr};
std::atomic<pid_t> g_started_pid{0};

std::uint64_t rss_kb() noexcept {
  int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[128];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(buf, "%llu %llu", &size, &resident) != 2) return 0;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) / 1024;
}

void fill(HbMsg& m, HbType type, std::uint32_t seq, const Responder& r) noexcept {
  std::memset(&m, 0, sizeof m);
  m.type = type;
  m.seq = seq;
  m.pid = ::getpid();
  m.tid = r.tid;
  m.fibers = r.hub->stats().fibers_alive;
  m.rss_kb = rss_kb();
  m.connections = g_connections.load(std::memory_order_relaxed);
  m.requests = g_requests.load(std::memory_order_relaxed);
}

// Appends s to buf (bounded); async-signal-safe.
void append(char* buf, std::size_t cap, const char* s) noexcept {
  std::size_t len = std::strlen(buf);
  while (*s && len + 1 < cap) buf[len++] = *s++;
  buf[len] = '\0';
}
void append_u64(char* buf, std::size_t cap, std::uint64_t v) noexcept {
  char tmp[24];
  int i = 23;
  tmp[i] = '\0';
  do {
    tmp[--i] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v && i > 0);
  append(buf, cap, tmp + i);
}

void on_abort(int, siginfo_t* si, void*) {
  Responder* r = g_responder.load(std::memory_order_acquire);
  HbMsg m;
  std::memset(&m, 0, sizeof m);
  m.type = HbType::abort_report;
  m.pid = ::getpid();
  char* t = m.text;
  const std::size_t cap = sizeof m.text;
  Hub* h = Hub::current_or_null();
  FiberBase* f = h ? h->running() : nullptr;
  if (!f) {
    append(t, cap, "no greenev hub on the aborted thread");
  } else if (h->in_hub_fiber()) {
    append(t, cap, "the hub itself was running (in a libev callback)");
  } else {
    const char* name = h->name_of(f);
    append(t, cap, "fiber '");
    if (name) {
      append(t, cap, name);
    } else {
      append(t, cap, "fiber-");
      append_u64(t, cap, f->id_);
    }
    append(t, cap, "' (id ");
    append_u64(t, cap, f->id_);
    append(t, cap, ") was running; its last wait reason: ");
    append(t, cap, f->wait_reason_ ? f->wait_reason_ : "none (it never parked)");
  }
  if (si && si->si_code == SI_TKILL && si->si_pid == ::getpid()) append(t, cap, " [abort() called in the worker]");
  if (r) {
    ssize_t n = ::send(r->fd, &m, sizeof m, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)n;
  }
  char line[sizeof m.text + 64] = "greenev: SIGABRT: ";
  append(line, sizeof line, m.text);
  append(line, sizeof line, "\n");
  long n = ::syscall(SYS_write, 2, line, std::strlen(line));  // not the patched write: may park
  (void)n;
  // Last, the stack: symbolizing is not async-signal-safe (diag/stack_capture.hpp), but what the
  // master needs is already sent, and its SIGKILL follows if this never returns.
  if (f) {
    static const char head[] = "greenev: SIGABRT: backtrace of the running code (innermost first):\n";
    n = ::syscall(SYS_write, 2, head, sizeof head - 1);
    detail::write_backtrace_here(2, "greenev:   ");
  }
  // SA_RESETHAND restored the default action; the signal is blocked until we return, then kills.
  ::raise(SIGABRT);
}

void on_readable(struct ev_loop*, ev_io* w, int) noexcept {
  auto* r = reinterpret_cast<Responder*>(w);
  for (;;) {
    HbMsg in;
    alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
    iovec iov{&in, sizeof in};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    ssize_t n = ::recvmsg(r->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {  // the master is gone: stop answering (its death signal handles the rest)
      ev_ref(r->hub->loop());
      ev_io_stop(r->hub->loop(), &r->io);
      return;
    }
    int passed = -1;
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) std::memcpy(&passed, CMSG_DATA(c), sizeof passed);
    if (static_cast<std::size_t>(n) < offsetof(HbMsg, seq) + sizeof in.seq) {
      if (passed >= 0) ::close(passed);
      continue;
    }
    if (in.type == HbType::ping) {
      HbMsg out;
      fill(out, HbType::pong, in.seq, *r);
      ssize_t s = ::send(r->fd, &out, sizeof out, MSG_DONTWAIT | MSG_NOSIGNAL);
      (void)s;
    } else if (in.type == HbType::reopen_log && passed >= 0) {
      ::dup2(passed, 1);
      ::dup2(passed, 2);
    }
    if (passed >= 0) ::close(passed);
  }
}

// The listening sockets a launcher shares between worker processes are one open file description:
// the first greenev worker forces O_NONBLOCK on it, and every later one would then take the flag
// for the user's own choice and hand EAGAIN to a blocking accept() (which then spins). A worker
// started by the launcher records its LISTEN_FDS as blocking for the user — through the patched
// calls' own contract: a first patched call learns the fd, F_SETFL without O_NONBLOCK records the
// user's view while the real fd stays non-blocking.
void adopt_inherited_listeners() noexcept {
  const char* pid_s = std::getenv("LISTEN_PID");
  const char* fds_s = std::getenv("LISTEN_FDS");
  if (!std::getenv("GREENEV_WORKER_INDEX") || !pid_s || !fds_s || std::atol(pid_s) != ::getpid()) return;
  const long n = std::atol(fds_s);
  int fds[1024];
  std::size_t k = 0;
  for (int fd = 3; fd < 3 + n && k < 1024; ++fd) fds[k++] = fd;
  adopt_blocking_listeners(fds, k);
}

void on_hub_created(Hub& hub) noexcept {
  const int saved = errno;
  adopt_inherited_listeners();
  errno = saved;
  const char* env = std::getenv("GREENEV_HEARTBEAT_FD");
  if (!env || !*env) return;
  char* end = nullptr;
  long fd = std::strtol(env, &end, 10);
  ::unsetenv("GREENEV_HEARTBEAT_FD");  // never inherited by this worker's own children
  if (*end != '\0' || fd < 3) return;
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET) return;
  (void)hub;
  heartbeat_start(static_cast<int>(fd));
}

[[gnu::used]] const bool g_registered = [] {
  add_hub_created_hook(&on_hub_created);
  return true;
}();

}  // namespace

void adopt_blocking_listeners(const int* fds, std::size_t n) noexcept {
  const int saved = errno;
  for (std::size_t i = 0; i < n; ++i) {
    const int fd = fds[i];
    char b;
    ssize_t r = ::recv(fd, &b, 0, MSG_DONTWAIT | MSG_PEEK);  // learns the fd; fails on a listener
    (void)r;
    int fl = ::fcntl(fd, F_GETFL);
    if (fl >= 0) ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  }
  errno = saved;
}

void heartbeat_start(int fd) noexcept {
  const pid_t me = ::getpid();
  if (g_started_pid.exchange(me) == me) return;
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  Hub& hub = Hub::current();
  auto* r = new Responder{};  // lives for the process (reachable through g_responder)
  r->hub = &hub;
  r->fd = fd;
  r->tid = static_cast<pid_t>(::syscall(SYS_gettid));
  ev_io_init(&r->io, &on_readable, fd, EV_READ);
  ev_io_start(hub.loop(), &r->io);
  ev_unref(hub.loop());
  g_responder.store(r, std::memory_order_release);

  struct sigaction sa {};
  sa.sa_sigaction = &on_abort;
  sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGABRT, &sa, nullptr);

  HbMsg hello;
  fill(hello, HbType::hello, 0, *r);
  ssize_t s = ::send(fd, &hello, sizeof hello, MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)s;
}

}  // namespace detail::launcher
}  // namespace greenev
