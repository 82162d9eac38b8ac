// runtime/launcher/sockets.cpp — opening and adopting the master's listening sockets (sockets.hpp).
//
// LISTEN_FDS is parsed by hand rather than with sd_listen_fds(): the protocol is three variables,
// and the launcher must work where libsystemd is absent (containers); sd_notify is the part that
// uses libsystemd (system.cpp).
#include "launcher/sockets.hpp"

#include <greenev/patches.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace greenev::detail::launcher {

namespace {

[[noreturn]] void fail(const std::string& spec, const std::string& what, int err) {
  throw std::runtime_error("cannot listen on " + spec + ": " + what + (err ? std::string(": ") + std::strerror(err) : ""));
}

void set_cloexec(int fd) { ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC); }

int bind_listen(const std::string& spec, const sockaddr* sa, socklen_t len, bool reuse_port, int backlog) {
  int fd = ::socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(spec, "socket", errno);
  int one = 1;
  if (sa->sa_family != AF_UNIX) {
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      int e = errno;
      ::close(fd);
      fail(spec, "SO_REUSEPORT", e);
    }
  }
  if (sa->sa_family == AF_INET6) {
    // "[::]:port" and ":port" serve IPv4 too; an explicit v6 address only v6.
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(sa);
    int v6only = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) ? 0 : 1;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  if (::bind(fd, sa, len) != 0) {
    int e = errno;
    ::close(fd);
    fail(spec, "bind", e);
  }
  if (::listen(fd, backlog) != 0) {
    int e = errno;
    ::close(fd);
    fail(spec, "listen", e);
  }
  return fd;
}

Listener open_unix(const std::string& spec, const std::string& path, int backlog) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof un.sun_path) fail(spec, "bad unix socket path", 0);
  std::memcpy(un.sun_path, path.data(), path.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) fail(spec, "the path exists and is not a socket", 0);
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&un), len) == 0;
    if (probe >= 0) ::close(probe);
    if (live) fail(spec, "another process is serving this socket", 0);
    ::unlink(path.c_str());  // stale: left by a master that died
  }
  Listener l;
  l.spec = spec;
  l.fd = bind_listen(spec, reinterpret_cast<sockaddr*>(&un), len, false, backlog);
  l.unix_path = path;
  l.name = spec;
  l.type = SOCK_STREAM;
  std::memcpy(&l.addr, &un, len);
  l.addr_len = len;
  return l;
}

}  // namespace

void split_host_port(const std::string& spec, std::string& host, std::string& port) {
  if (!spec.empty() && spec[0] == '[') {
    auto close = spec.find(']');
    if (close == std::string::npos || close + 1 >= spec.size() || spec[close + 1] != ':')
      throw std::runtime_error("bad address '" + spec + "': expected [v6]:port");
    host = spec.substr(1, close - 1);
    port = spec.substr(close + 2);
  } else {
    auto colon = spec.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("bad address '" + spec + "': expected host:port");
    host = spec.substr(0, colon);
    port = spec.substr(colon + 1);
    if (host.find(':') != std::string::npos)
      throw std::runtime_error("bad address '" + spec + "': write IPv6 addresses as [v6]:port");
  }
  if (port.empty()) throw std::runtime_error("bad address '" + spec + "': no port");
}

std::vector<Listener> adopt_systemd_fds() {
  std::vector<Listener> out;
  const char* pid_s = std::getenv("LISTEN_PID");
  const char* fds_s = std::getenv("LISTEN_FDS");
  const char* names_s = std::getenv("LISTEN_FDNAMES");
  std::string names = names_s ? names_s : "";
  bool ours = pid_s && fds_s && std::strtol(pid_s, nullptr, 10) == ::getpid();
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (!ours) return out;
  long n = std::strtol(fds_s, nullptr, 10);
  std::size_t pos = 0;
  for (long i = 0; i < n && i < 1024; ++i) {
    Listener l;
    l.fd = 3 + static_cast<int>(i);
    l.adopted = true;
    std::string nm;
    if (pos <= names.size() && !names.empty()) {
      auto colon = names.find(':', pos);
      nm = names.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
      pos = colon == std::string::npos ? names.size() + 1 : colon + 1;
    }
    set_cloexec(l.fd);
    int type = 0;
    socklen_t tl = sizeof type;
    ::getsockopt(l.fd, SOL_SOCKET, SO_TYPE, &type, &tl);
    l.type = type;
    l.addr_len = sizeof l.addr;
    ::getsockname(l.fd, reinterpret_cast<sockaddr*>(&l.addr), &l.addr_len);
    l.name = nm.empty() ? describe_socket(l.fd) : nm;
    l.spec = "systemd:" + l.name;
    out.push_back(std::move(l));
  }
  return out;
}

Listener open_listener(const std::string& spec, bool reuse_port, int backlog) {
  if (spec.rfind("unix:", 0) == 0) return open_unix(spec, spec.substr(5), backlog);
  std::string host, port;
  split_host_port(spec, host, port);
  if (host == "*") host.clear();
  addrinfo hints{};
  hints.ai_family = host.empty() ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int rc;
  {
    patches::Disable real_calls;  // name resolution must not start the thread pool in the master
    rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
  }
  if (rc != 0) fail(spec, gai_strerror(rc), 0);
  Listener l;
  l.spec = spec;
  l.type = SOCK_STREAM;
  try {
    l.fd = bind_listen(spec, res->ai_addr, res->ai_addrlen, reuse_port, backlog);
  } catch (...) {
    ::freeaddrinfo(res);
    throw;
  }
  ::freeaddrinfo(res);
  l.addr_len = sizeof l.addr;
  ::getsockname(l.fd, reinterpret_cast<sockaddr*>(&l.addr), &l.addr_len);
  l.name = describe_socket(l.fd);
  return l;
}

int open_sibling(const Listener& l, int backlog) {
  return bind_listen(l.spec, reinterpret_cast<const sockaddr*>(&l.addr), l.addr_len, true, backlog);
}

std::string describe_socket(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "fd:" + std::to_string(fd);
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &s->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(s->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    const auto* s = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(s->sin6_port));
  }
  if (ss.ss_family == AF_UNIX) {
    const auto* s = reinterpret_cast<const sockaddr_un*>(&ss);
    if (len > offsetof(sockaddr_un, sun_path) && s->sun_path[0]) return std::string("unix:") + s->sun_path;
    return "unix";
  }
  return "fd:" + std::to_string(fd);
}

}  // namespace greenev::detail::launcher
