// greenev/server.hpp — StreamServer: accept loop, one fiber per connection, limits, graceful stop
// (gevent.server.StreamServer; the accept side of Go's net/http.Server).
//
//   greenev::StreamServer srv({.listen = {"127.0.0.1:8080"}}, [](greenev::Connection& c) {
//     char buf[4096];
//     for (ssize_t n; (n = ::read(c.fd(), buf, sizeof buf)) > 0;) ::write(c.fd(), buf, n);
//   });
//   srv.serve_forever();
//
// The handler is blocking-style code on its own fiber; the connection fd is closed when it returns.
// Listen addresses: "host:port" (IPv4 or a name), "[v6]:port", "unix:/path" (a stale socket file is
// removed only when nothing answers on it), "fd:N" (adopt a listening socket), or no address with
// LISTEN_FDS/LISTEN_PID set (systemd socket activation, also what greenev-launch hands workers).
// max_connections bounds the handler fibers (a Pool): when full the server stops accepting and the
// kernel backlog holds the rest. EMFILE/ENFILE pause accepting (10 ms doubling to 1 s), never spin.
// stop(grace): listeners close at once, idle connections (set_idle) are closed at once, the rest
// may finish until grace, then are killed; the count killed is returned. With idle_drain > 0, idle
// connections instead get that long (at most the grace) to bring one last request — answered with
// "Connection: close" by a handler that checks stopping() — before they are closed: a keep-alive
// client racing the close then never sees a reset (greenev-launch's reloads rely on it).
// Confined to the hub thread that start()ed it. Rejected: an accept fiber per connection slot
// (prefork style) — a burst of idle fibers and no single place to stop accepting.
#pragma once
#include <greenev/detail/config.hpp>
#include <greenev/detail/deadline.hpp>
#include <greenev/timeout.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace greenev {

struct ServerOptions {
  std::vector<std::string> listen;                // see above; empty => LISTEN_FDS
  std::size_t max_connections = 10000;            // handler fibers at once (>= 1)
  std::chrono::milliseconds idle_timeout{0};      // 0 = none: between requests (Connection::read)
  std::chrono::milliseconds request_timeout{0};   // 0 = none: whole-request read deadline
  int backlog = 1024;
  bool tcp_nodelay = true;
  bool reuse_port = false;                        // SO_REUSEPORT on TCP listeners we bind
  bool stop_on_signals = false;                   // SIGTERM/SIGINT => stop(grace), SIGQUIT => stop(0)
  std::chrono::milliseconds grace{10000};         // used by signal stops and the destructor's stop
  std::chrono::milliseconds idle_drain{0};        // stop: idle connections may send one last request
  std::string name = "server";                    // fibers: "<name>:accept <addr>", "<name>:conn <peer>"
  std::size_t stack_size = 0;                     // per connection fiber; 0 = default_stack_size()
};

struct ServerCounters {
  std::uint64_t accepted = 0;          // connections handed to a handler
  std::uint64_t active = 0;            // handlers running now
  std::uint64_t refused_at_limit = 0;  // times accepting paused because max_connections were busy
  std::uint64_t handler_errors = 0;    // handlers that ended with an exception (logged)
  std::uint64_t cut_off_at_stop = 0;   // handlers killed when a stop's grace ran out
  std::uint64_t requests = 0;          // count_request() calls
  std::uint64_t fd_exhausted = 0;      // EMFILE/ENFILE episodes (accept paused with back-off)
};

namespace detail {
struct ServerCore;
}

// One accepted connection; lives on its handler's fiber for the handler's whole run.
class GREENEV_API Connection {
 public:
  int fd() const noexcept { return fd_; }
  const std::string& peer() const noexcept { return peer_; }  // "1.2.3.4:5678", "[::1]:5678", "unix"
  // The server is stopping: finish the request in hand (say "Connection: close"), then return.
  bool stopping() const noexcept;
  // Between requests the handler marks itself idle: a stop closes an idle connection at once
  // (its read sees EOF), and Connection::read waits at most idle_timeout. set_idle(false) starts
  // the whole-request deadline (request_timeout).
  void set_idle(bool idle) noexcept;
  bool idle() const noexcept { return idle_; }
  // A new request begins without an idle period in between (pipelining): restarts its deadline.
  void begin_request() noexcept;

  // ::read bounded by the current deadline (idle or request); -1/ETIMEDOUT when it passes. Plain
  // ::read/::write on fd() work as well (through the patches), without the server's deadlines.
  ssize_t read(void* buf, std::size_t n) noexcept;
  // Writes all n bytes (a blocking write); -1 on error, as ::write.
  ssize_t write(const void* buf, std::size_t n) noexcept;
  // The read deadline now in force (steady_clock::time_point::max() when none). For I/O that does
  // not go through read() (TLS): `greenev::Timeout t(c.read_deadline());` around it.
  std::chrono::steady_clock::time_point read_deadline() const noexcept;
  detail::Deadline read_deadline_ns() const noexcept;

  void count_request() noexcept;  // counters().requests++

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

 private:
  friend struct detail::ServerCore;
  Connection(detail::ServerCore* core, int fd, std::string peer) noexcept;

  detail::ServerCore* core_;
  int fd_;
  bool idle_ = false;
  bool shut_ = false;                    // stop() already shut its read side
  bool drained_ = false;                 // the last read was short: the socket is likely empty
  std::string peer_;
  detail::Deadline phase_start_ = 0;     // when the idle period / the request began
  void* fiber_ = nullptr;                // its FiberBase
  Connection* prev_ = nullptr;           // ServerCore's list of live connections
  Connection* next_ = nullptr;
};

class GREENEV_API StreamServer {
 public:
  using Handler = std::function<void(Connection&)>;
  using FdHandler = std::function<void(int fd, const std::string& peer)>;  // gevent's (socket, address)
  StreamServer(ServerOptions opts, Handler handler);
  StreamServer(ServerOptions opts, FdHandler handler)
      : StreamServer(std::move(opts), Handler([h = std::move(handler)](Connection& c) { h(c.fd(), c.peer()); })) {}
  ~StreamServer();  // stop(0) if still running
  StreamServer(const StreamServer&) = delete;
  StreamServer& operator=(const StreamServer&) = delete;

  // Binds or adopts every address and starts one accept fiber per listener; returns at once.
  // Throws std::system_error (naming the address) when one cannot be opened; nothing stays open.
  void start();
  // start() if needed, then waits until a stop() (or a signal, with stop_on_signals) completes.
  void serve_forever();
  // Closes the listeners, closes idle connections, lets the others finish until grace, then
  // kills them; returns how many were killed. A second stop() while one runs shortens its grace
  // and waits for it (returns 0). Called from one of this server's handlers, it runs on a new
  // fiber and returns 0 at once (the caller finishes its request).
  std::size_t stop(std::chrono::milliseconds grace);
  bool running() const noexcept;   // started and not yet stopped
  bool stopping() const noexcept;  // a stop is in progress or done

  // Bound addresses, ports resolved: "127.0.0.1:41234", "[::1]:8080", "unix:/run/x.sock".
  std::vector<std::string> addresses() const;
  // The listening fds (for tests and for handing to child processes); closed by stop().
  std::vector<int> listen_fds() const;
  ServerCounters counters() const noexcept;
  void count_request() noexcept;

 private:
  std::unique_ptr<detail::ServerCore> core_;
};

}  // namespace greenev
