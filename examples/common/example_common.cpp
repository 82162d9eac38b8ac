// examples/common/example_common.cpp — see example_common.hpp.
#include "example_common.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>

namespace greenev::examples {

namespace {
std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(std::llround(seconds * 1000.0)));
}
}  // namespace

bool socket_activated() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* n = std::getenv("LISTEN_FDS");
  return pid && n && std::strtol(pid, nullptr, 10) == static_cast<long>(::getpid()) && std::atoi(n) > 0;
}

void add_server_flags(CLI::App& app, ServerFlags& f, const std::string& default_listen, bool with_request_timeout) {
  f.listen = {default_listen};
  app.add_option("-l,--listen", f.listen,
                 "address to serve, repeatable: host:port, [v6]:port, unix:/path, fd:N "
                 "(ignored when LISTEN_FDS is set)")
      ->capture_default_str();
  app.add_option("--max-connections", f.max_connections, "connections served at once; the rest wait in the backlog")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--grace", f.grace_s, "seconds in-flight requests get on SIGTERM/SIGINT before they are cut off")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--idle-timeout", f.idle_timeout_s, "close a connection idle this many seconds (0 = never)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--idle-drain", f.idle_drain_s,
                 "seconds idle keep-alive connections may still send one last request when stopping "
                 "(default: 2 under greenev-launch, whose reloads must not reset clients; else 0)");
  if (with_request_timeout)
    app.add_option("--request-timeout", f.request_timeout_s,
                   "seconds a client has to send a whole request, from its first byte (0 = no limit)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
}

ServerOptions server_options(const ServerFlags& f, const std::string& name) {
  ServerOptions o;
  if (socket_activated()) {
    std::fprintf(stderr, "%s: serving the %s socket(s) passed in LISTEN_FDS; --listen ignored\n", name.c_str(),
                 std::getenv("LISTEN_FDS"));
  } else {
    o.listen = f.listen;
  }
  o.max_connections = f.max_connections;
  o.grace = ms(f.grace_s);
  o.idle_timeout = ms(f.idle_timeout_s);
  o.request_timeout = ms(f.request_timeout_s);
  o.idle_drain = ms(f.idle_drain_s >= 0 ? f.idle_drain_s : std::getenv("GREENEV_WORKER_INDEX") ? 2.0 : 0.0);
  o.stop_on_signals = true;
  o.name = name;
  return o;
}

void announce(const StreamServer& srv, const std::string& prog) {
  std::string line = prog + ": listening on ";
  const auto addrs = srv.addresses();
  for (std::size_t i = 0; i < addrs.size(); ++i) line += (i ? ", " : "") + addrs[i];
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

int guarded_main(const std::string& prog, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", prog.c_str(), e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: error: unknown exception\n", prog.c_str());
  }
  return 1;
}

}  // namespace greenev::examples
