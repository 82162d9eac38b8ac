// runtime/launcher/control_client.cpp — `greenev-launch status|reload|stop`: one request over the
// master's --control unix socket, the reply copied to stdout. Plain blocking calls: the client is a
// short-lived command, not a fiber program.
#include "launcher/control_client.hpp"

#include <greenev/patches.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace greenev::detail::launcher {

int control_request(const std::string& path, const std::string& command, std::string& reply, std::string& error) {
  patches::Disable real_calls;
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof un.sun_path) {
    error = "bad control socket path '" + path + "'";
    return -1;
  }
  std::memcpy(un.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) != 0) {
    error = "cannot connect to " + path + ": " + std::strerror(errno) + " (is the master running with --control?)";
    if (fd >= 0) ::close(fd);
    return -1;
  }
  std::string line = command + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    error = "cannot send to " + path + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return 0;
}

}  // namespace greenev::detail::launcher
