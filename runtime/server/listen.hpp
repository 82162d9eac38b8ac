// runtime/server/listen.hpp — opening listening sockets for StreamServer from address strings.
//
// Accepted forms: "host:port" (IPv4 literal, "*"/empty for any, or a name resolved with
// getaddrinfo), "[v6]:port" (IPV6_V6ONLY, as nginx, so "[::]:80" and "0.0.0.0:80" can coexist),
// "unix:/path", "fd:N" (an already listening socket), and the systemd protocol (LISTEN_PID must be
// our pid; fds 3.. 3+LISTEN_FDS-1; names from LISTEN_FDNAMES; the variables are unset afterwards).
// Every listener is O_NONBLOCK and FD_CLOEXEC; the accept fiber waits for readiness itself.
// Unix sockets: an existing socket file is removed only if connect() to it is refused (stale);
// a live one is EADDRINUSE; the file we created is unlinked on close (if it is still ours).
// Rejected: silently unlinking any existing path (steals the socket of a running server).
#pragma once
#include <string>
#include <sys/types.h>
#include <vector>

namespace greenev::detail {

struct Listener {
  int fd = -1;
  std::string address;    // resolved, as addresses() shows it
  std::string unix_path;  // non-empty: we created this socket file and unlink it on close
  dev_t unix_dev = 0;     // identity of the file we created (unlink only if unchanged)
  ino_t unix_ino = 0;
  bool is_tcp = false;    // TCP_NODELAY applies to its connections
};

struct ListenConfig {
  int backlog = 1024;
  bool reuse_port = false;
};

// Opens one address (throws std::system_error / std::invalid_argument naming it).
Listener open_listener(const std::string& spec, const ListenConfig& cfg);
// The systemd fds, if LISTEN_FDS is set for this process (empty otherwise); unsets the variables.
std::vector<Listener> adopt_systemd_fds();
// True when LISTEN_FDS/LISTEN_PID name this process.
bool systemd_fds_present();
// Closes the fd and removes the socket file we created.
void close_listener(Listener& l) noexcept;
// "1.2.3.4:5678", "[::1]:5678", "unix:/path" ("unix" for an unnamed peer).
std::string format_sockaddr(const void* sa, unsigned len);

}  // namespace greenev::detail
