// runtime/server/connection.cpp — Connection's deadline-aware read/write and the signal routing.
//
// Connection::read is the handler's hot path: the real read first, then a wait on the fd bounded
// by the phase deadline (idle_timeout while idle, request_timeout from set_idle(false)) and by any
// Timeout scope the handler opened — the same io_wait every patched call uses, so kills and
// Timeouts behave exactly as in ::read. Rejected: a Timeout scope per read (two list operations
// per call for a deadline that only moves between requests).
// Signals: SIGTERM/SIGINT stop every registered server with its grace, SIGQUIT with none. The
// handlers run as fibers (SignalHandler), one stop per server, and are removed with the last server.
#include "server/server_core.hpp"

#include "core/hub.hpp"
#include "io/io.hpp"

#include <greenev/launcher.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>

namespace greenev {

Connection::Connection(detail::ServerCore* core, int fd, std::string peer) noexcept
    : core_(core), fd_(fd), peer_(std::move(peer)), phase_start_(detail::now_ns()) {}

bool Connection::stopping() const noexcept { return core_->state != detail::ServerCore::State::running; }

void Connection::set_idle(bool idle) noexcept {
  if (idle != idle_) phase_start_ = detail::now_ns();
  idle_ = idle;
  if (idle && core_->state == detail::ServerCore::State::stopping && !core_->draining_idle) core_->shut_idle(*this);
}

void Connection::begin_request() noexcept {
  idle_ = false;
  phase_start_ = detail::now_ns();
}

detail::Deadline Connection::read_deadline_ns() const noexcept {
  const detail::Deadline span = idle_ ? core_->idle_ns : core_->request_ns;
  if (span == 0) return detail::kForever;
  return phase_start_ > detail::kForever - span ? detail::kForever : phase_start_ + span;
}

std::chrono::steady_clock::time_point Connection::read_deadline() const noexcept {
  const detail::Deadline d = read_deadline_ns();
  if (d == detail::kForever) return std::chrono::steady_clock::time_point::max();
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(d));
}

ssize_t Connection::read(void* buf, std::size_t n) noexcept {
  using namespace detail;
  const int saved = errno;
  Hub* h = coop_hub();
  // A short last read emptied the socket: wait for readiness before trying, saving the read that
  // would only say EAGAIN (one syscall per request on a keep-alive connection). If bytes came in
  // meanwhile, the level-triggered watcher reports them at once.
  if (drained_ && h) {
    drained_ = false;
    if (int why = io_wait(*h, fd_, kIoRead, read_deadline_ns(), "conn_read")) {
      errno = why == EAGAIN ? ETIMEDOUT : why;
      return -1;
    }
  }
  for (;;) {
    const ssize_t r = real().read(fd_, buf, n);
    if (r >= 0) {
      drained_ = r > 0 && static_cast<std::size_t>(r) < n;
      errno = saved;
      return r;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return -1;
    if (!h) {  // patching switched off: wait with the real poll, bounded by the deadline
      struct pollfd p{fd_, POLLIN, 0};
      const Deadline dl = read_deadline_ns();
      const int ms = dl == kForever ? -1 : static_cast<int>(std::max<Deadline>(0, (dl - now_ns()) / 1000000));
      if (real().poll(&p, 1, ms) == 0) {
        errno = ETIMEDOUT;
        return -1;
      }
      continue;
    }
    if (int why = io_wait(*h, fd_, kIoRead, read_deadline_ns(), "conn_read")) {
      errno = why == EAGAIN ? ETIMEDOUT : why;
      return -1;
    }
  }
}

ssize_t Connection::write(const void* buf, std::size_t n) noexcept {
  const char* p = static_cast<const char*>(buf);
  std::size_t done = 0;
  // Fast path: a response that fits the socket buffer goes out with one real send, without the
  // patched send's fd-table lookup and retry set-up (~220 of the ~1,400 user-space instructions
  // of a hello request, callgrind). Anything else — short, or any error — is the loop's to handle.
  if (n > 0 && detail::coop_hub()) {
    const int saved = errno;
    const ssize_t r = detail::real().send(fd_, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r == static_cast<ssize_t>(n)) return r;
    if (r > 0) done = static_cast<std::size_t>(r);
    errno = saved;
  }
  while (done < n) {
    const ssize_t r = ::send(fd_, p + done, n - done, MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == ENOTSOCK) {
        const ssize_t w = ::write(fd_, p + done, n - done);
        if (w < 0) return done ? static_cast<ssize_t>(done) : -1;
        done += static_cast<std::size_t>(w);
        continue;
      }
      return done ? static_cast<ssize_t>(done) : -1;
    }
    done += static_cast<std::size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

void Connection::count_request() noexcept {
  ++core_->ctr.requests;
  worker_note_request();  // the launcher's per-worker status (launcher.hpp)
}

}  // namespace greenev

namespace greenev::detail {

namespace {

struct SignalRouting {
  std::vector<ServerCore*> servers;
  std::optional<SignalHandler> term, intr, quit;
};
SignalRouting& routing() {
  static SignalRouting* r = new SignalRouting;  // never destroyed: signals may arrive at exit
  return *r;
}

void on_stop_signal(int signo) {
  const bool now = signo == SIGQUIT;
  auto servers = routing().servers;  // stop() unregisters
  for (ServerCore* s : servers) {
    std::fprintf(stderr, "greenev: %s: %s, stopping (grace %lld ms)\n", s->opts.name.c_str(),
                 signo == SIGTERM ? "SIGTERM" : signo == SIGINT ? "SIGINT" : "SIGQUIT",
                 now ? 0LL : static_cast<long long>(s->opts.grace.count()));
    // Each on its own fiber, so servers stop concurrently and one slow grace does not delay others.
    spawn(SpawnOptions{s->opts.name + ":stop"}, [s, now] { s->stop(now ? std::chrono::milliseconds(0) : s->opts.grace); })
        .detach();
  }
}

}  // namespace

void register_signal_server(ServerCore* s) {
  auto& r = routing();
  r.servers.push_back(s);
  if (r.servers.size() == 1) {
    r.term.emplace(SIGTERM, [] { on_stop_signal(SIGTERM); });
    r.intr.emplace(SIGINT, [] { on_stop_signal(SIGINT); });
    r.quit.emplace(SIGQUIT, [] { on_stop_signal(SIGQUIT); });
  }
}

void unregister_signal_server(ServerCore* s) noexcept {
  auto& r = routing();
  r.servers.erase(std::remove(r.servers.begin(), r.servers.end(), s), r.servers.end());
  if (r.servers.empty()) {
    r.term.reset();
    r.intr.reset();
    r.quit.reset();
  }
}

}  // namespace greenev::detail
