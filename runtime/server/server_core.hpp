// runtime/server/server_core.hpp — StreamServer's state, shared by server.cpp and connection.cpp.
//
// States (one-way): idle -> running (start) -> stopping (stop) -> stopped. Connection fibers live
// in `pool` (the max_connections bound) and link their Connection, which sits on their own stack,
// into `conns` for the whole handler run; stop() walks that list to close idle ones and count
// the ones it kills. Everything is confined to the hub thread that called start().
#pragma once
#include "server/listen.hpp"

#include <greenev/event.hpp>
#include <greenev/fiber.hpp>
#include <greenev/pool.hpp>
#include <greenev/server.hpp>
#include <greenev/signal.hpp>

#include <optional>

namespace greenev::detail {

class Hub;

struct ServerCore {
  enum class State { idle, running, stopping, stopped };

  ServerCore(ServerOptions o, StreamServer::Handler h);
  ~ServerCore();

  void start();
  std::size_t stop(std::chrono::milliseconds grace);
  void serve_forever();

  void accept_loop(Listener* l);
  bool accept_one(Listener* l);  // false: the listener has nothing more right now
  void run_connection(int fd, std::string peer, bool tcp);
  void shut_idle(Connection& c) noexcept;
  void link(Connection& c) noexcept;
  void unlink(Connection& c) noexcept;
  bool is_own_connection_fiber() const noexcept;

  ServerOptions opts;
  StreamServer::Handler handler;
  State state = State::idle;
  Hub* hub = nullptr;
  std::vector<Listener> listeners;
  std::vector<Fiber<void>> acceptors;
  Pool pool;
  Connection* conns = nullptr;  // doubly linked, newest first
  ServerCounters ctr;
  Deadline idle_ns = 0, request_ns = 0;  // 0 = none
  Deadline stop_deadline = kForever;
  bool draining_idle = false;    // stop's idle_drain window: idle connections stay open
  Event drained;                 // set when the last connection ends during a stop
  Event stopped;                 // set when stop() has finished
  std::size_t last_cut = 0;
  bool at_limit = false;         // an accept pause at max_connections is under way
  bool signals_registered = false;
};

// Process-wide SIGTERM/SIGINT/SIGQUIT routing to the servers that asked for it (libev allows one
// watcher per signal, so servers share one SignalHandler per signal).
void register_signal_server(ServerCore* s);
void unregister_signal_server(ServerCore* s) noexcept;

}  // namespace greenev::detail
