// runtime/server/listen.cpp — address parsing, bind/listen, fd and systemd adoption (listen.hpp).
//
// Runs on a hub thread (the server's start()); getaddrinfo for names goes through the patched
// resolver. Sockets are created with SOCK_CLOEXEC and set O_NONBLOCK with the real fcntl, because
// the accept fiber calls the real accept4 itself and waits for readiness (no patch in between).
#include "server/listen.hpp"

#include "io/io.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace greenev::detail {

namespace {

[[noreturn]] void fail(int err, const std::string& spec, const char* what) {
  throw std::system_error(err, std::generic_category(), "greenev: listen " + spec + ": " + what);
}

struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

void make_nonblocking(int fd, const std::string& spec) {
  const int fl = real().fcntl(fd, F_GETFL);
  if (fl < 0 || real().fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) fail(errno, spec, "fcntl");
  const int fdfl = real().fcntl(fd, F_GETFD);
  if (fdfl >= 0) real().fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC);
  fd_reset(fd);  // the table learns the new flags on next use (user view: non-blocking)
}

std::string local_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "fd:" + std::to_string(fd);
  return format_sockaddr(&ss, len);
}

bool is_listening_socket(int fd, int& family) {
  int acc = 0;
  socklen_t l = sizeof acc;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) != 0 || !acc) return false;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  family = getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 ? ss.ss_family : AF_UNSPEC;
  return true;
}

Listener bind_inet(const std::string& spec, const sockaddr* sa, socklen_t salen, const ListenConfig& cfg) {
  FdGuard s{::socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) fail(errno, spec, "socket");
  int one = 1;
  setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (cfg.reuse_port && setsockopt(s.fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    fail(errno, spec, "SO_REUSEPORT");
  if (sa->sa_family == AF_INET6) setsockopt(s.fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(s.fd, sa, salen) != 0) fail(errno, spec, "bind");
  if (::listen(s.fd, cfg.backlog) != 0) fail(errno, spec, "listen");
  make_nonblocking(s.fd, spec);
  Listener l;
  l.fd = s.release();
  l.address = local_address(l.fd);
  l.is_tcp = true;
  return l;
}

Listener open_unix(const std::string& spec, const std::string& path, const ListenConfig& cfg) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sun.sun_path) fail(ENAMETOOLONG, spec, "bad socket path");
  std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  const auto salen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);

  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) fail(EEXIST, spec, "path exists and is not a socket");
    // Something there: remove it only if nobody answers (a stale file from a dead server).
    FdGuard probe{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (probe.fd < 0) fail(errno, spec, "socket");
    if (::connect(probe.fd, reinterpret_cast<sockaddr*>(&sun), salen) == 0)
      fail(EADDRINUSE, spec, "another process is listening on this socket");
    if (errno != ECONNREFUSED) fail(errno, spec, "probing the existing socket file");
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail(errno, spec, "removing the stale socket file");
  }
  FdGuard s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) fail(errno, spec, "socket");
  if (::bind(s.fd, reinterpret_cast<sockaddr*>(&sun), salen) != 0) fail(errno, spec, "bind");
  Listener l;
  if (::stat(path.c_str(), &st) == 0) {
    l.unix_dev = st.st_dev;
    l.unix_ino = st.st_ino;
  }
  l.unix_path = path;
  if (::listen(s.fd, cfg.backlog) != 0) {
    const int e = errno;
    ::unlink(path.c_str());
    fail(e, spec, "listen");
  }
  make_nonblocking(s.fd, spec);
  l.fd = s.release();
  l.address = "unix:" + path;
  return l;
}

Listener adopt_fd(int fd, const std::string& spec) {
  int family = AF_UNSPEC;
  if (!is_listening_socket(fd, family)) fail(errno ? errno : ENOTSOCK, spec, "not a listening stream socket");
  make_nonblocking(fd, spec);
  Listener l;
  l.fd = fd;
  l.address = local_address(fd);
  l.is_tcp = family == AF_INET || family == AF_INET6;
  return l;
}

bool parse_port(const std::string& s, unsigned& port) {
  if (s.empty() || s.size() > 5) return false;
  port = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  return port <= 65535;
}

}  // namespace

std::string format_sockaddr(const void* p, unsigned len) {
  const auto* sa = static_cast<const sockaddr*>(p);
  char host[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    const auto* in = static_cast<const sockaddr_in*>(p);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = static_cast<const sockaddr_in6*>(p);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  if (sa->sa_family == AF_UNIX) {
    const auto* sun = static_cast<const sockaddr_un*>(p);
    const unsigned off = offsetof(sockaddr_un, sun_path);
    if (len <= off || sun->sun_path[0] == '\0') return "unix";
    return "unix:" + std::string(sun->sun_path, strnlen(sun->sun_path, len - off));
  }
  return "family-" + std::to_string(sa->sa_family);
}

Listener open_listener(const std::string& spec, const ListenConfig& cfg) {
  if (spec.rfind("unix:", 0) == 0) return open_unix(spec, spec.substr(5), cfg);
  if (spec.rfind("fd:", 0) == 0) {
    char* end = nullptr;
    errno = 0;
    const long fd = std::strtol(spec.c_str() + 3, &end, 10);
    if (spec.size() == 3 || *end != '\0' || fd < 0 || fd > 1 << 30)
      throw std::invalid_argument("greenev: listen " + spec + ": fd:N needs a descriptor number");
    return adopt_fd(static_cast<int>(fd), spec);
  }
  std::string host, port_s;
  if (!spec.empty() && spec[0] == '[') {
    const auto close = spec.find("]:");
    if (close == std::string::npos)
      throw std::invalid_argument("greenev: listen " + spec + ": expected [v6-address]:port");
    host = spec.substr(1, close - 1);
    port_s = spec.substr(close + 2);
    unsigned port;
    if (!parse_port(port_s, port)) throw std::invalid_argument("greenev: listen " + spec + ": bad port");
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &a.sin6_addr) != 1)
      throw std::invalid_argument("greenev: listen " + spec + ": bad IPv6 address");
    return bind_inet(spec, reinterpret_cast<sockaddr*>(&a), sizeof a, cfg);
  }
  const auto colon = spec.rfind(':');
  if (colon == std::string::npos)
    throw std::invalid_argument("greenev: listen " + spec +
                                ": expected host:port, [v6]:port, unix:/path or fd:N");
  host = spec.substr(0, colon);
  port_s = spec.substr(colon + 1);
  unsigned port;
  if (!parse_port(port_s, port)) throw std::invalid_argument("greenev: listen " + spec + ": bad port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (host.empty() || host == "*") {
    a.sin_addr.s_addr = htonl(INADDR_ANY);
  } else if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (rc != 0 || !res)
      throw std::system_error(EADDRNOTAVAIL, std::generic_category(),
                              "greenev: listen " + spec + ": cannot resolve host: " + gai_strerror(rc));
    a.sin_addr = reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr;
    freeaddrinfo(res);
  }
  return bind_inet(spec, reinterpret_cast<sockaddr*>(&a), sizeof a, cfg);
}

bool systemd_fds_present() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* n = std::getenv("LISTEN_FDS");
  return pid && n && std::strtol(pid, nullptr, 10) == static_cast<long>(::getpid()) && std::atoi(n) > 0;
}

std::vector<Listener> adopt_systemd_fds() {
  std::vector<Listener> out;
  if (!systemd_fds_present()) return out;
  const int n = std::atoi(std::getenv("LISTEN_FDS"));
  std::vector<std::string> names;
  if (const char* nm = std::getenv("LISTEN_FDNAMES")) {
    std::string all(nm);
    std::size_t pos = 0;
    for (;;) {
      const auto c = all.find(':', pos);
      names.push_back(all.substr(pos, c == std::string::npos ? std::string::npos : c - pos));
      if (c == std::string::npos) break;
      pos = c + 1;
    }
  }
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  try {
    for (int i = 0; i < n; ++i) {
      const int fd = 3 + i;
      std::string spec = "LISTEN_FDS fd " + std::to_string(fd);
      if (i < static_cast<int>(names.size()) && !names[static_cast<std::size_t>(i)].empty())
        spec += " (" + names[static_cast<std::size_t>(i)] + ")";
      out.push_back(adopt_fd(fd, spec));
    }
  } catch (...) {
    for (auto& l : out) close_listener(l);
    throw;
  }
  return out;
}

void close_listener(Listener& l) noexcept {
  if (l.fd < 0) return;
  ::close(l.fd);
  l.fd = -1;
  if (!l.unix_path.empty()) {
    struct stat st;
    if (::lstat(l.unix_path.c_str(), &st) == 0 && st.st_dev == l.unix_dev && st.st_ino == l.unix_ino)
      ::unlink(l.unix_path.c_str());
    l.unix_path.clear();
  }
}

}  // namespace greenev::detail
