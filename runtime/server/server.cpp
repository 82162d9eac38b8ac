// runtime/server/server.cpp — StreamServer: listeners, accept fibers, connection fibers, stop.
//
// Accept: one fiber per listener calls the real accept4(SOCK_NONBLOCK|SOCK_CLOEXEC) in batches of
// up to 64, then waits for readiness ("io_read" on the listener) — never waits before trying. A
// new fd is registered in the fd table as a cooperative socket with a blocking user view (no
// fstat/fcntl on first use), so handlers use plain read/write. Before each accept the pool must
// have a free slot; when max_connections handlers run, the acceptor waits for one ("pool_spawn")
// and the kernel backlog holds the rest. EMFILE/ENFILE/ENOBUFS/ENOMEM: the acceptor sleeps 10 ms,
// doubling to 1 s, and logs once per episode (the listener stays readable, so waiting for
// readiness would spin). Stop: kill the acceptors, close the listeners, shut the read side of idle
// connections (their read sees EOF), wait for the rest until the grace deadline, kill them.
// Rejected: closing idle connections with kill() (handlers would see ECANCELED and log it as an
// error; EOF is what a client closing would give them) and Pool::join for the grace wait (a
// second stop() could not shorten it).
#include "server/server_core.hpp"

#include "core/hub.hpp"
#include "io/io.hpp"

#include <greenev/launcher.hpp>
#include <greenev/this_fiber.hpp>

#include <cxxabi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace greenev::detail {

namespace {
constexpr int kAcceptBatch = 64;
constexpr auto kBackoffMin = std::chrono::milliseconds(10);
constexpr auto kBackoffMax = std::chrono::milliseconds(1000);

Deadline to_ns(std::chrono::milliseconds d) noexcept {
  return d.count() <= 0 ? 0 : static_cast<Deadline>(d.count()) * 1000000;
}
}  // namespace

ServerCore::ServerCore(ServerOptions o, StreamServer::Handler h)
    : opts(std::move(o)),
      handler(std::move(h)),
      pool(opts.max_connections ? opts.max_connections
                                : throw std::invalid_argument("greenev: ServerOptions::max_connections must be >= 1")) {
  if (!handler) throw std::invalid_argument("greenev: StreamServer needs a handler");
  idle_ns = to_ns(opts.idle_timeout);
  request_ns = to_ns(opts.request_timeout);
}

ServerCore::~ServerCore() {
  if (state == State::running || state == State::stopping) stop(std::chrono::milliseconds(0));
  for (auto& l : listeners) close_listener(l);
}

void ServerCore::start() {
  if (state != State::idle) {
    if (state == State::running) return;
    throw std::logic_error("greenev: StreamServer '" + opts.name + "' cannot be restarted after stop()");
  }
  hub = &Hub::current();
  ListenConfig cfg{opts.backlog, opts.reuse_port};
  std::vector<Listener> opened;
  try {
    if (opts.listen.empty()) {
      opened = adopt_systemd_fds();
      if (opened.empty())
        throw std::invalid_argument("greenev: StreamServer '" + opts.name +
                                    "': no listen address and no LISTEN_FDS for this process");
    }
    for (const auto& spec : opts.listen) opened.push_back(open_listener(spec, cfg));
  } catch (...) {
    for (auto& l : opened) close_listener(l);
    throw;
  }
  listeners = std::move(opened);
  state = State::running;
  if (opts.stop_on_signals) {
    register_signal_server(this);
    signals_registered = true;
  }
  for (auto& l : listeners) {
    acceptors.push_back(spawn(SpawnOptions{opts.name + ":accept " + l.address}, [this, lp = &l] { accept_loop(lp); }));
  }
}

void ServerCore::serve_forever() {
  start();
  stopped.wait();
}

bool ServerCore::accept_one(Listener* l) {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  const int fd = real().accept4(l->fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return false;
  fd_adopt_nonblocking_socket(fd);
  if (l->is_tcp && opts.tcp_nodelay) {
    int one = 1;
    real().setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  std::string peer = format_sockaddr(&ss, len);
  ++ctr.accepted;
  SpawnOptions so;
  so.name = opts.name + ":conn " + peer;
  so.stack_size = opts.stack_size;
  // Never waits: the caller checked for a free slot and nothing ran since.
  pool.spawn(std::move(so), [this, fd, peer = std::move(peer)]() mutable { run_connection(fd, std::move(peer), false); });
  return true;
}

void ServerCore::accept_loop(Listener* l) {
  auto backoff = kBackoffMin;
  bool exhausted = false;
  Deadline exhausted_since = 0;
  for (;;) {
    if (pool.full()) {
      if (!at_limit) {
        at_limit = true;
        ++ctr.refused_at_limit;
      }
      pool.wait_available();
      at_limit = false;
      continue;  // another acceptor may have taken the slot meanwhile
    }
    int n = 0;
    bool drained_backlog = false;
    while (n < kAcceptBatch && !pool.full()) {
      if (accept_one(l)) {
        ++n;
        if (exhausted) {
          exhausted = false;
          backoff = kBackoffMin;
          std::fprintf(stderr, "greenev: %s: accepting again on %s after %lld ms without file descriptors\n",
                       opts.name.c_str(), l->address.c_str(),
                       static_cast<long long>((now_ns() - exhausted_since) / 1000000));
        }
        continue;
      }
      const int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK) {
        if (exhausted) {  // accept4 checks for a free fd first: EAGAIN means fds are back
          exhausted = false;
          backoff = kBackoffMin;
        }
        drained_backlog = true;
        break;
      }
      if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        if (!exhausted) {
          exhausted = true;
          exhausted_since = now_ns();
          ++ctr.fd_exhausted;
          std::fprintf(stderr,
                       "greenev: %s: accept on %s: %s; pausing accept (back-off 10 ms doubling to 1 s) "
                       "until descriptors free up\n",
                       opts.name.c_str(), l->address.c_str(), std::strerror(e));
        }
        this_fiber::sleep_for(backoff);
        backoff = std::min(backoff * 2, kBackoffMax);
        continue;
      }
      if (e == EBADF || e == EINVAL || e == ENOTSOCK) return;  // the listener was closed
      if (e == EINTR || e == ECONNABORTED || e == EPROTO || e == EPERM || e == ENETDOWN || e == ENOPROTOOPT ||
          e == EHOSTDOWN || e == ENONET || e == EHOSTUNREACH || e == EOPNOTSUPP || e == ENETUNREACH)
        continue;  // this connection failed, the listener is fine (accept(2): treat like EAGAIN)
      std::fprintf(stderr, "greenev: %s: accept on %s: %s\n", opts.name.c_str(), l->address.c_str(), std::strerror(e));
      this_fiber::sleep_for(kBackoffMin);
    }
    if (!drained_backlog) {
      if (n >= kAcceptBatch) this_fiber::yield();  // let the new handlers run before the next batch
      continue;
    }
    wait_fd_or_throw(l->fd, kIoRead, kForever);
  }
}

void ServerCore::link(Connection& c) noexcept {
  c.next_ = conns;
  if (conns) conns->prev_ = &c;
  conns = &c;
}

void ServerCore::unlink(Connection& c) noexcept {
  (c.prev_ ? c.prev_->next_ : conns) = c.next_;
  if (c.next_) c.next_->prev_ = c.prev_;
  c.prev_ = c.next_ = nullptr;
}

void ServerCore::run_connection(int fd, std::string peer, bool) {
  Connection c(this, fd, std::move(peer));
  c.fiber_ = current_fiber();
  link(c);
  ++ctr.active;
  worker_note_connection(1);  // the launcher's per-worker status (launcher.hpp)
  struct Done {
    ServerCore* s;
    Connection& c;
    ~Done() {
      s->unlink(c);
      --s->ctr.active;
      worker_note_connection(-1);
      ::close(c.fd_);
      if (s->ctr.active == 0 && s->state == State::stopping) s->drained.set();
    }
  } done{this, c};
  try {
    handler(c);
  } catch (const FiberExit&) {
    throw;
  } catch (abi::__forced_unwind&) {
    throw;
  } catch (const std::exception& e) {
    ++ctr.handler_errors;
    std::fprintf(stderr, "greenev: %s: handler for %s (fiber '%s') failed: %s\n", opts.name.c_str(),
                 c.peer().c_str(), this_fiber::name().c_str(), e.what());
  } catch (...) {
    ++ctr.handler_errors;
    std::fprintf(stderr, "greenev: %s: handler for %s (fiber '%s') failed with a non-standard exception\n",
                 opts.name.c_str(), c.peer().c_str(), this_fiber::name().c_str());
  }
}

void ServerCore::shut_idle(Connection& c) noexcept {
  if (c.shut_) return;
  c.shut_ = true;
  ::shutdown(c.fd_, SHUT_RD);  // the handler's pending read sees EOF
}

bool ServerCore::is_own_connection_fiber() const noexcept {
  const void* me = current_fiber();
  for (const Connection* c = conns; c; c = c->next_)
    if (c->fiber_ == me) return true;
  return false;
}

std::size_t ServerCore::stop(std::chrono::milliseconds grace) {
  const Deadline deadline = grace.count() <= 0 ? now_ns() : deadline_after(grace);
  if (state == State::idle) {
    state = State::stopped;
    stopped.set();
    return 0;
  }
  if (state == State::stopped) return 0;
  if (state == State::stopping) {  // another fiber is stopping: hurry it up and wait for it
    if (deadline < stop_deadline) {
      stop_deadline = deadline;
      drained.set();  // wakes the stopper to look at the new deadline
    }
    stopped.wait();
    return 0;
  }
  if (is_own_connection_fiber()) {  // the stopper waits for every handler, so not on one of them
    spawn(SpawnOptions{opts.name + ":stop"}, [this, grace] { stop(grace); });
    return 0;
  }
  state = State::stopping;
  stop_deadline = deadline;
  for (auto& a : acceptors) a.kill();
  acceptors.clear();
  for (auto& l : listeners) close_listener(l);
  if (opts.idle_drain.count() > 0) {
    // Idle keep-alive connections may still bring one last request (answered with Connection:
    // close); closing them now would reset a client whose request is already on the way.
    const Deadline dl = std::min(stop_deadline, deadline_after(opts.idle_drain));
    draining_idle = true;
    while (ctr.active > 0 && now_ns() < dl && now_ns() < stop_deadline) {
      drained.clear();
      drained.wait_until(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(std::min(dl, stop_deadline))));
    }
    draining_idle = false;
  }
  for (Connection* c = conns; c; c = c->next_)
    if (c->idle_) shut_idle(*c);
  while (ctr.active > 0) {
    const Deadline dl = stop_deadline;
    if (now_ns() >= dl) break;
    drained.clear();
    drained.wait_until(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(dl)));
  }
  std::size_t cut = 0;
  if (ctr.active > 0) {
    cut = ctr.active;
    std::fprintf(stderr, "greenev: %s: grace period over, killing %zu connection(s)\n", opts.name.c_str(), cut);
    pool.kill();
  }
  ctr.cut_off_at_stop += cut;
  last_cut = cut;
  if (signals_registered) {
    unregister_signal_server(this);
    signals_registered = false;
  }
  state = State::stopped;
  stopped.set();
  return cut;
}

}  // namespace greenev::detail

namespace greenev {

StreamServer::StreamServer(ServerOptions opts, Handler handler)
    : core_(std::make_unique<detail::ServerCore>(std::move(opts), std::move(handler))) {}
StreamServer::~StreamServer() = default;

void StreamServer::start() { core_->start(); }
void StreamServer::serve_forever() { core_->serve_forever(); }
std::size_t StreamServer::stop(std::chrono::milliseconds grace) { return core_->stop(grace); }
bool StreamServer::running() const noexcept { return core_->state == detail::ServerCore::State::running; }
bool StreamServer::stopping() const noexcept {
  return core_->state == detail::ServerCore::State::stopping || core_->state == detail::ServerCore::State::stopped;
}

std::vector<std::string> StreamServer::addresses() const {
  std::vector<std::string> out;
  for (const auto& l : core_->listeners)
    if (l.fd >= 0) out.push_back(l.address);
  return out;
}

std::vector<int> StreamServer::listen_fds() const {
  std::vector<int> out;
  for (const auto& l : core_->listeners)
    if (l.fd >= 0) out.push_back(l.fd);
  return out;
}

ServerCounters StreamServer::counters() const noexcept { return core_->ctr; }
void StreamServer::count_request() noexcept {
  ++core_->ctr.requests;
  worker_note_request();
}

}  // namespace greenev
