// runtime/launcher/sockets.hpp — the master's listening sockets: opened from addresses or adopted
// from systemd socket activation, then handed to every worker.
//
// Address forms: "host:port", "[v6]:port", ":port" or "*:port" (dual-stack [::]), "unix:/path".
// Host names resolve once, at start-up (numeric forms never touch DNS), with the libc patches off:
// the master must not start the thread pool before it forks. A unix path left over by a dead
// master (connect refused) is replaced; one a live process still serves is an error. Every fd the
// master holds is close-on-exec: workers get theirs only through the spawner's explicit dup2s.
#pragma once
#include <string>
#include <sys/socket.h>
#include <vector>

namespace greenev::detail::launcher {

struct Listener {
  std::string spec;        // as given ("127.0.0.1:0"), or "systemd:<name>"
  std::string name;        // LISTEN_FDNAMES entry: systemd's name, else the bound address
  int fd = -1;
  bool adopted = false;    // from LISTEN_FDS: never unlinked, never reopened
  std::string unix_path;   // unlinked at exit when we created it
  sockaddr_storage addr{}; // bound address (port 0 resolved), for SO_REUSEPORT siblings
  socklen_t addr_len = 0;
  int type = 0;            // SOCK_STREAM / SOCK_DGRAM / ...
};

// Takes the fds systemd passed when LISTEN_PID names this process; always unsets LISTEN_PID,
// LISTEN_FDS and LISTEN_FDNAMES (workers get their own values). Empty when none.
std::vector<Listener> adopt_systemd_fds();

// Parses, resolves, binds and listens. Throws std::runtime_error naming the address and cause.
Listener open_listener(const std::string& spec, bool reuse_port, int backlog);

// One more socket bound to l's address with SO_REUSEPORT (its own accept queue).
int open_sibling(const Listener& l, int backlog);

// "127.0.0.1:8080", "[::1]:8080", "unix:/run/x.sock" for a bound socket.
std::string describe_socket(int fd);

// Splits "host:port" / "[v6]:port"; throws on a malformed spec.
void split_host_port(const std::string& spec, std::string& host, std::string& port);

}  // namespace greenev::detail::launcher
