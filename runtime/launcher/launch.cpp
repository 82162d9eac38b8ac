// runtime/launcher/launch.cpp — greenev::launch(): the master of launcher.hpp with workers forked
// (greenev::fork) from the master's own image, each running the application's worker function.
//
// In the child only the forking fiber continues (fork.hpp); it first lets go of everything that is
// the master's — its signal handlers, the control and metrics sockets, other workers' pidfds and
// heartbeat sockets, other slots' SO_REUSEPORT sockets — then becomes the worker on the same hub:
// parent-death signal, CPU pin, credentials, heartbeat responder, SIGTERM/SIGINT -> `stopping`,
// SIGQUIT -> exit now. The worker function's return value is the exit status; the process ends
// with _exit after flushing stdio, so the master's objects (pid file, unix socket paths) are never
// destroyed — and never unlinked — by a child. The listening fds keep the numbers they have in the
// master (the hub's own epoll/eventfd may sit at 3..), so LISTEN_FDS is not set for these workers.
// Rejected: re-executing /proc/self/exe per worker (it would re-run main()'s setup each time and
// cannot pass a std::function; the CLI is the way to re-read a binary from disk).
#include "launcher/master.hpp"

#include <greenev/fiber.hpp>
#include <greenev/fork.hpp>
#include <greenev/signal.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <grp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <system_error>
#include <unistd.h>

namespace greenev {

std::vector<std::string> WorkerContext::listen_specs() const {
  std::vector<std::string> out;
  for (int fd : fds) out.push_back("fd:" + std::to_string(fd));
  return out;
}

namespace detail::launcher {
namespace {

class ForkSpawner final : public Spawner {
 public:
  ForkSpawner(std::function<int(WorkerContext&)> fn, std::function<void(const SpawnRequest&)> drop_master)
      : fn_(std::move(fn)), drop_master_(std::move(drop_master)) {}

  Spawned spawn(const SpawnRequest& req) override {
    const pid_t master = ::getpid();
    const pid_t pid = greenev::fork();
    if (pid == 0) run_worker(req, master);  // never returns
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
      const int e = errno;
      ::kill(pid, SIGKILL);
      throw std::system_error(e, std::generic_category(), "pidfd_open");
    }
    return Spawned{pid, pidfd};
  }
  std::string what() const override { return "the worker function"; }

 private:
  [[noreturn]] void run_worker(const SpawnRequest& req, pid_t master) {
    int code = 1;
    try {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != master) _exit(1);
      drop_master_(req);
      if (req.cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(req.cpu, &set);
        ::sched_setaffinity(0, sizeof set, &set);
      }
      if (req.creds) {
        if (::setgroups(req.creds->groups.size(), req.creds->groups.data()) != 0 || ::setgid(req.creds->gid) != 0 ||
            ::setuid(req.creds->uid) != 0)
          throw std::system_error(errno, std::generic_category(), "dropping privileges");
      }
      ::setenv("GREENEV_WORKER_INDEX", std::to_string(req.index).c_str(), 1);
      adopt_blocking_listeners(req.fds.data(), req.fds.size());
      if (req.heartbeat_fd >= 0) heartbeat_start(req.heartbeat_fd);
      Event stopping;
      SignalHandler term(SIGTERM, [&stopping] { stopping.set(); });
      SignalHandler intr(SIGINT, [&stopping] { stopping.set(); });
      SignalHandler quit(SIGQUIT, [] {
        std::fflush(nullptr);
        _exit(0);
      });
      WorkerContext ctx;
      ctx.index = req.index;
      ctx.fds = req.fds;
      ctx.names = req.names;
      ctx.stopping = &stopping;
      code = fn_(ctx);
    } catch (const std::exception& e) {
      wlog(req.index, ::getpid(), "worker function failed: %s", e.what());
      code = 1;
    } catch (...) {
      wlog(req.index, ::getpid(), "worker function ended with an exception that is not a std::exception");
      code = 1;
    }
    std::fflush(nullptr);
    _exit(code);
  }

  std::function<int(WorkerContext&)> fn_;
  std::function<void(const SpawnRequest&)> drop_master_;
};

}  // namespace
}  // namespace detail::launcher

int launch(const LaunchOptions& opts, std::function<int(WorkerContext&)> worker) {
  if (!worker) throw std::invalid_argument("greenev::launch: no worker function");
  detail::launcher::Master* self = nullptr;
  auto spawner = std::make_unique<detail::launcher::ForkSpawner>(std::move(worker), [&self](const detail::launcher::SpawnRequest& req) {
    self->drop_in_child(req);
  });
  detail::launcher::Master master(opts, std::move(spawner));
  self = &master;
  return master.run();
}

}  // namespace greenev
