// runtime/launcher/master.hpp — the supervising master shared by greenev-launch and launch().
//
// The master is one process with one hub; every activity is a fiber: one per worker watching its
// pidfd (exit) and one per worker reading its heartbeat socket, a ticker pinging workers and
// feeding the systemd watchdog, one fiber per signal, the control socket's accept loop. How a
// worker process comes to exist is the Spawner's business (fork+exec for the CLI, fork+function
// for the library); everything else — sockets, supervision, signals, reload — is shared.
//
// Worker states (Worker::state), written where they change in master.cpp:
//   booting   spawned, neither hello received nor boot_time elapsed  -> running, exited
//   running   booted; serving                                         -> retiring, exited
//   retiring  sent SIGTERM (reload, TTOU, max-requests, stop); killed at graceful_timeout -> exited
//   exited    reaped; the record is dropped after the slot's decision (restart or not)
// A slot (index) holds at most one non-retiring worker; during a reload it also holds the
// retiring one it replaces. Rejected: one fiber per slot running spawn/wait in a loop (reload and
// TTOU need to act on a worker from outside that loop, which then races its restart decision).
#pragma once
#include <greenev/event.hpp>
#include <greenev/launcher.hpp>
#include <greenev/pool.hpp>
#include <greenev/signal.hpp>
#include <greenev/timeout.hpp>

#include "launcher/heartbeat.hpp"
#include "launcher/sockets.hpp"
#include "launcher/system.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace greenev::detail::launcher {

using Clock = std::chrono::steady_clock;

// What a spawner gets to start one worker.
struct SpawnRequest {
  int index = 0;
  std::vector<int> fds;             // listening sockets, in order (to become 3, 4, ...)
  std::vector<std::string> names;   // LISTEN_FDNAMES
  int heartbeat_fd = -1;            // the worker's end of the socketpair
  int heartbeat_master_fd = -1;     // the master's end (a forked child closes it)
  int cpu = -1;                     // pin to this CPU (-1: no pinning)
  const Credentials* creds = nullptr;  // drop to these (null: keep)
};

struct Spawned {
  pid_t pid = -1;
  int pidfd = -1;
};

class Spawner {
 public:
  virtual ~Spawner() = default;
  // Starts a worker; throws std::system_error (logged by the master) when it cannot.
  virtual Spawned spawn(const SpawnRequest& req) = 0;
  // What the log calls the workers ("./app", "worker function").
  virtual std::string what() const = 0;
};

enum class WorkerState { booting, running, retiring, exited };

struct Worker {
  int index = 0;
  pid_t pid = -1;
  int pidfd = -1;
  int hb = -1;                      // master's end of the heartbeat socketpair
  pid_t hub_tid = -1;               // from hello; 0 until then (not a greenev program yet)
  WorkerState state = WorkerState::booting;
  Clock::time_point started;
  Clock::time_point last_pong;
  bool hung = false;                // aborted for a missed heartbeat
  bool replaced = false;            // a successor serves this slot (reload, max requests)
  std::uint64_t max_requests = 0;   // with jitter; 0: unlimited
  HbMsg stats{};                    // last pong
  std::string abort_text;           // from the worker's SIGABRT handler
  Event booted;                     // set when running
  Event gone;                       // set when reaped
  int exit_status = 0;              // waitid's si_status
  int exit_code = 0;                // CLD_EXITED / CLD_KILLED / CLD_DUMPED
};

struct Slot {
  int index = 0;
  int restarts = 0;                 // replacements after a death
  int boot_failures = 0;            // consecutive deaths at boot
  std::chrono::milliseconds backoff{0};
  bool restart_pending = false;
  bool removed = false;             // TTOU took it away
  std::shared_ptr<Worker> current;
  std::vector<int> own_fds;         // reuse_port: this slot's sockets
};

class Master {
 public:
  Master(LaunchOptions opts, std::unique_ptr<Spawner> spawner);
  ~Master();
  // Runs until stopped; returns the exit status. Call on a thread with no other greenev work.
  int run();
  // In a forked worker (launch()): closes every fd and stops every watcher that is the master's,
  // keeping req's sockets. The master's fibers are already gone (fork keeps only the caller).
  void drop_in_child(const SpawnRequest& req);

 private:
  void setup();
  void start_slot(Slot& s);
  void spawn_worker(Slot& s);
  void watch(std::shared_ptr<Worker> w);
  void read_heartbeat(std::shared_ptr<Worker> w);
  void on_exit(const std::shared_ptr<Worker>& w);
  void ticker();
  void retire(const std::shared_ptr<Worker>& w, const char* why);
  void kill_hung(const std::shared_ptr<Worker>& w);
  void reload();
  void replace(Slot& s, const char* why);
  void add_worker();
  void remove_worker();
  void stop(bool graceful);
  void reopen_logs();
  void reap_orphans();
  void fatal(std::string why);
  std::string status_text() const;
  void serve_control();
  void serve_metrics();
  std::string metrics_text() const;
  void update_status();
  std::vector<std::shared_ptr<Worker>> all_workers() const;
  // Runs f as a named fiber of the master; an escaping exception is logged. Killed at exit.
  template <class F>
  void go(std::string name, F&& f) {
    fibers_.spawn(SpawnOptions{std::move(name)}, [f = std::forward<F>(f)]() mutable {
      try {
        f();
      } catch (const std::exception& e) {
        mlog("internal error in a master fiber: %s", e.what());
      }
    });
  }
  int cpu_for(int index) const;

  LaunchOptions opts_;
  std::unique_ptr<Spawner> spawner_;
  std::vector<Listener> listeners_;
  std::vector<int> allowed_cpus_;
  Credentials creds_;
  bool have_creds_ = false;
  Notifier notify_;
  PidFile pid_file_;
  int control_fd_ = -1;
  int metrics_fd_ = -1;
  std::string metrics_name_;
  std::uint64_t retired_requests_ = 0;  // requests of workers that have exited
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::shared_ptr<Worker>> retiring_;  // no longer a slot's current
  Clock::time_point started_;
  bool stopping_ = false;
  bool reloading_ = false;
  int exit_status_ = 0;
  std::string fatal_reason_;
  Event done_;
  std::vector<std::unique_ptr<SignalHandler>> signals_;
  Group fibers_;
  std::uint32_t seq_ = 0;
  std::uint64_t reloads_ = 0;
};

}  // namespace greenev::detail::launcher
