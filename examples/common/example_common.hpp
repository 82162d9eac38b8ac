// examples/common/example_common.hpp — what every greenev example server shares: the command-line
// flags (CLI11), turning them into ServerOptions, and the startup line.
//
// Rules every example follows: --listen ADDR is repeatable (host:port, [v6]:port, unix:/path,
// fd:N); when LISTEN_FDS/LISTEN_PID name this process (systemd socket activation, greenev-launch)
// those sockets are served instead and --listen is ignored (said on stderr); SIGTERM/SIGINT stop
// gracefully (--grace), SIGQUIT at once; the program then exits 0. Startup prints one line to
// stdout, "<prog>: listening on ADDR[, ADDR...]", flushed, so scripts can learn a port-0 address.
// Rejected: per-example copies of this code (they drift), and getopt (no --help generation).
#pragma once
#include <greenev/server.hpp>

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace greenev::examples {

struct ServerFlags {
  std::vector<std::string> listen;
  std::size_t max_connections = 10000;
  double grace_s = 10;
  double idle_timeout_s = 0;
  double request_timeout_s = 0;
  double idle_drain_s = -1;  // < 0: 2 s under greenev-launch (GREENEV_WORKER_INDEX set), else 0
};

// Adds --listen (default: default_listen), --max-connections, --grace, --idle-timeout and, when
// with_request_timeout, --request-timeout.
void add_server_flags(CLI::App& app, ServerFlags& f, const std::string& default_listen,
                      bool with_request_timeout = false);

// ServerOptions for the flags (LISTEN_FDS wins over --listen), stop_on_signals on.
ServerOptions server_options(const ServerFlags& f, const std::string& name);

// Prints "<prog>: listening on ..." to stdout and flushes.
void announce(const StreamServer& srv, const std::string& prog);

// Runs body; an escaping exception prints "<prog>: error: <what>" and makes the exit status 1.
int guarded_main(const std::string& prog, const std::function<int()>& body);

// True when LISTEN_FDS/LISTEN_PID are set for this process.
bool socket_activated();

}  // namespace greenev::examples
