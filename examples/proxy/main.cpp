// examples/proxy/main.cpp — greenev-proxy: a TCP (and unix socket) forwarder on StreamServer.
//
//   greenev-proxy --listen 127.0.0.1:8000 --upstream 127.0.0.1:8080
//   curl http://127.0.0.1:8000/
//
// Each client connection gets an upstream connection (bounded by --connect-timeout, name lookup
// included) and two fibers copying bytes, one per direction, with plain read/write. When one side
// finishes sending (EOF), the proxy half-closes the other side's write direction
// (shutdown(SHUT_WR)) and keeps copying the opposite direction, so protocols that send a request,
// half-close and then read the answer work through it. An error in either direction tears down
// both (each socket shut down, which wakes the other fiber). The connection's handler owns the
// second fiber: it always waits for it before returning, so the server never closes a socket a
// fiber is still using — also when a graceful stop runs out of grace and kills the handler.
// Rejected: splice(2) through a pipe (zero-copy, but the patched libc has no cooperative splice,
// and a copy through a 64 KiB buffer is not what limits a proxy on loopback).
#include "example_common.hpp"

#include <greenev/greenev.hpp>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

struct Upstream {
  std::string spec;  // as given, for messages
  bool unix_path = false;
  std::string host, port;  // host:port / [v6]:port; or the path for unix:
};

Upstream parse_upstream(const std::string& s) {
  Upstream u;
  u.spec = s;
  if (s.rfind("unix:", 0) == 0) {
    u.unix_path = true;
    u.host = s.substr(5);
    if (u.host.empty() || u.host.size() >= sizeof(sockaddr_un{}.sun_path)) throw CLI::ValidationError("--upstream", "bad unix socket path");
    return u;
  }
  const std::size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon + 1 == s.size()) throw CLI::ValidationError("--upstream", "want host:port, [v6]:port or unix:/path");
  u.host = s.substr(0, colon);
  u.port = s.substr(colon + 1);
  if (u.host.size() >= 2 && u.host.front() == '[' && u.host.back() == ']') u.host = u.host.substr(1, u.host.size() - 2);
  return u;
}

// Connects to the upstream within `timeout` (DNS included). Returns the fd, or -1 with `why` set.
int connect_upstream(const Upstream& u, std::chrono::milliseconds timeout, std::string& why) {
  greenev::Timeout deadline(timeout);
  int fd = -1;
  try {
    if (u.unix_path) {
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::memcpy(a.sun_path, u.host.c_str(), u.host.size() + 1);
      fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
      why = std::strerror(errno);
      if (fd >= 0) ::close(fd);
      return -1;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (int rc = ::getaddrinfo(u.host.c_str(), u.port.c_str(), &hints, &res); rc != 0) {
      why = deadline.expired() ? "timed out resolving" : ::gai_strerror(rc);
      return -1;
    }
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {  // each address in turn, as a client should
      fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) {
        why = std::strerror(errno);
        continue;
      }
      if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
      why = errno == ETIMEDOUT && deadline.expired() ? "connect timed out" : std::strerror(errno);
      ::close(fd);
      fd = -1;
      if (deadline.expired()) break;
    }
    ::freeaddrinfo(res);
    if (fd >= 0) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
  } catch (const greenev::TimeoutError& e) {  // the deadline reached a greenev suspension point
    if (!e.is(deadline)) throw;
    if (fd >= 0) ::close(fd);
    why = "connect timed out";
    return -1;
  }
}

// Copies src to dst until EOF on src, then half-closes dst. False on an error either way.
bool pump(int src, int dst) {
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(src, buf, sizeof buf);
    if (n == 0) {
      ::shutdown(dst, SHUT_WR);
      return true;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    for (ssize_t off = 0; off < n;) {
      const ssize_t w = ::send(dst, buf + off, static_cast<std::size_t>(n - off), MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      off += w;
    }
  }
}

void tear_down(int a, int b) {
  ::shutdown(a, SHUT_RDWR);
  ::shutdown(b, SHUT_RDWR);
}

struct Counters {
  unsigned long long tunnels = 0, upstream_failures = 0;
};

void serve(greenev::Connection& c, const Upstream& up, std::chrono::milliseconds connect_timeout, Counters& n) {
  std::string why;
  const int ufd = connect_upstream(up, connect_timeout, why);
  if (ufd < 0) {
    ++n.upstream_failures;
    std::fprintf(stderr, "greenev-proxy: %s: upstream %s: %s\n", c.peer().c_str(), up.spec.c_str(), why.c_str());
    return;  // the server closes the client connection
  }
  ++n.tunnels;
  const int cfd = c.fd();
  auto back = greenev::spawn(greenev::SpawnOptions{"greenev-proxy:back " + c.peer()}, [cfd, ufd] {
    if (!pump(ufd, cfd)) tear_down(cfd, ufd);
  });
  if (!pump(cfd, ufd)) tear_down(cfd, ufd);
  // The other fiber must be finished before the client fd (closed by the server) and ufd go away,
  // on every way out. A kill (a stop out of grace) surfaces here, at the first suspension after
  // the patched read it interrupted: tear both sockets down so the other fiber ends at once, wait
  // again (a kill is raised once), then let the kill go on.
  try {
    back.wait();
  } catch (...) {
    tear_down(cfd, ufd);
    back.wait();
    ::close(ufd);
    throw;
  }
  ::close(ufd);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"greenev-proxy: TCP forwarder; two fibers per connection, half-close propagated.\n"
               "Try: greenev-proxy --listen 127.0.0.1:8000 --upstream example.org:80"};
  greenev::examples::ServerFlags flags;
  greenev::examples::add_server_flags(app, flags, "127.0.0.1:8000");
  std::string upstream;
  double connect_timeout_s = 5;
  app.add_option("-u,--upstream", upstream, "where to forward: host:port, [v6]:port or unix:/path")->required();
  app.add_option("--connect-timeout", connect_timeout_s, "seconds to resolve and connect to the upstream")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  Upstream up;
  try {
    up = parse_upstream(upstream);
  } catch (const CLI::Error& e) {
    return app.exit(e);
  }
  const auto connect_timeout = std::chrono::milliseconds(static_cast<long long>(connect_timeout_s * 1000));

  return greenev::examples::guarded_main("greenev-proxy", [&] {
    Counters n;
    greenev::StreamServer server(greenev::examples::server_options(flags, "greenev-proxy"),
                                 [&](greenev::Connection& c) { serve(c, up, connect_timeout, n); });
    server.start();
    greenev::examples::announce(server, "greenev-proxy");
    server.serve_forever();
    std::fprintf(stderr, "greenev-proxy: stopped after %llu tunnels, %llu upstream failures (%llu cut off)\n",
                 n.tunnels, n.upstream_failures,
                 static_cast<unsigned long long>(server.counters().cut_off_at_stop));
    return 0;
  });
}
