// greenev/launcher.hpp — a supervising master that runs one greenev worker process per core.
//
// The master opens the listening sockets (or adopts systemd's), starts the workers, and supervises
// them from its own hub: a worker that dies is restarted with exponential back-off, one whose hub
// stops answering heartbeats is aborted (its running fiber is named in the log) and restarted, and
// a worker that keeps dying at boot stops the master with a non-zero exit instead of a fork loop.
// Signals: TERM/INT graceful stop, QUIT immediate stop, HUP zero-downtime reload (new workers
// first, then the old ones retire gracefully), TTIN/TTOU one worker more/less, USR1 reopen logs.
// Workers receive the sockets the systemd way (fds from 3, LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES)
// plus GREENEV_WORKER_INDEX, so one worker program runs alone, under systemd or under the master.
//
// Two ways in: greenev-launch (the CLI: fork+exec of any program, see docs/launcher.md) and
// launch() below (the master forks and runs a worker function in each child on a fresh hub).
// Rejected: threads instead of processes (one crash would take every hub down, and the patched
// libc state is per process) and a master without a hub (timers, signals, pidfds and the control
// socket would need a hand-written poll loop; the master starts no thread before forking).
#pragma once
#include <greenev/detail/config.hpp>
#include <greenev/event.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace greenev {

struct LaunchOptions {
  // Addresses to listen on: "host:port", "[v6]:port", ":port" (all IPv4+IPv6), "unix:/path".
  // Sockets passed by systemd (LISTEN_FDS for this pid) are adopted in addition.
  std::vector<std::string> listen;
  int workers = 0;                  // 0: the CPUs this process may use (affinity, cgroup cpu.max)
  bool reuse_port = false;          // one SO_REUSEPORT socket per worker instead of one shared
  bool pin_cpus = false;            // worker i runs on the i-th allowed CPU (mod their count)
  int backlog = 1024;
  std::chrono::milliseconds graceful_timeout{30000};  // TERM -> KILL for stopping workers
  std::chrono::milliseconds heartbeat_timeout{30000}; // 0: no heartbeat
  std::chrono::milliseconds boot_time{1000};  // a worker is "booted" after this (or its hello)
  std::chrono::milliseconds backoff_min{100};  // restart delay after the first failure, doubling
  std::chrono::milliseconds backoff_max{10000};
  int boot_failures = 5;            // consecutive deaths at boot that stop the master
  std::uint64_t max_requests = 0;   // recycle a worker after this many requests (0: never)
  std::uint64_t max_requests_jitter = 0;  // + uniform [0, jitter], per worker
  std::string user, group;          // workers drop to these after the master has bound
  std::string pid_file;             // the master's pid; refused if a live master holds it
  std::string control;              // unix socket for `greenev-launch status`
  std::string log_file;             // stderr of master and workers (reopened on SIGUSR1)
  std::string metrics;              // host:port serving the workers' summed counters
  std::string name = "greenev";     // log tag and process title prefix
};

// What a worker started by launch() receives.
struct WorkerContext {
  int index = 0;                    // 0..workers-1; a replacement keeps the index
  std::vector<int> fds;             // listening sockets (also readable as LISTEN_FDS from 3)
  std::vector<std::string> names;   // one per fd (systemd FileDescriptorName, else the address)
  Event* stopping = nullptr;        // set on SIGTERM/SIGINT: stop accepting, finish, return
  // "fd:N" for each socket: ready for ServerOptions::listen.
  GREENEV_API std::vector<std::string> listen_specs() const;
};

// Runs the master in the calling process until it stops; returns its exit status (0 after a
// graceful stop, non-zero after a crash loop at boot or a setup error, which is logged). Must be
// called before this process starts any thread. The worker function runs in each forked child on
// a fresh hub; its return value is the child's exit status, an escaping exception exits 1.
GREENEV_API int launch(const LaunchOptions& opts, std::function<int(WorkerContext&)> worker);

// Counters a worker reports to its master (shown by `greenev-launch status`, summed by
// --metrics). StreamServer maintains them; other servers may call these directly.
GREENEV_API void worker_note_connection(int delta) noexcept;  // +1 accepted, -1 closed
GREENEV_API void worker_note_request() noexcept;

}  // namespace greenev
