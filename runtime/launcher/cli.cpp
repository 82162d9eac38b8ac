// runtime/launcher/cli.cpp — greenev-launch, the standalone master for any program.
//
//   greenev-launch [options] -- program args...     run and supervise workers
//   greenev-launch status|reload|stop --control PATH talk to a running master
//
// The program's workers get the listening sockets the systemd way (LISTEN_FDS from fd 3,
// LISTEN_PID, LISTEN_FDNAMES) plus GREENEV_WORKER_INDEX and GREENEV_HEARTBEAT_FD; see
// docs/launcher.md. Durations are seconds (fractions allowed). Parsing is CLI11's; this file only
// maps flags onto LaunchOptions and runs the shared Master with the exec spawner.
#include "launcher/control_client.hpp"
#include "launcher/exec_spawn.hpp"
#include "launcher/master.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

namespace {

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0 + 0.5));
}

}  // namespace

int main(int argc, char** argv) {
  using greenev::LaunchOptions;
  CLI::App app{"greenev-launch: run one supervised worker process per CPU core (see docs/launcher.md)",
               "greenev-launch"};
  app.footer("Signals to the master: TERM/INT graceful stop, QUIT immediate stop, HUP zero-downtime reload,\n"
             "TTIN/TTOU one worker more/less, USR1 reopen --log-file.");
  LaunchOptions o;
  o.name = "greenev-launch";
  double graceful = 30, heartbeat = 30, boot = 1, bmin = 0.1, bmax = 10;
  std::vector<std::string> program;
  app.add_option("-b,--bind", o.listen, "address to listen on: host:port, [v6]:port, :port, unix:/path (repeatable)");
  app.add_option("-w,--workers", o.workers, "worker processes (default: CPUs this process may use)")->check(CLI::NonNegativeNumber);
  app.add_flag("--reuse-port", o.reuse_port, "one SO_REUSEPORT socket per worker instead of one shared socket");
  app.add_flag("--pin", o.pin_cpus, "pin worker i to the i-th allowed CPU");
  app.add_option("--backlog", o.backlog, "listen backlog")->capture_default_str();
  app.add_option("--graceful-timeout", graceful, "seconds a stopping worker may take before SIGKILL")->capture_default_str();
  app.add_option("--heartbeat-timeout", heartbeat, "seconds without a heartbeat answer before a worker counts as hung (0: off)")
      ->capture_default_str();
  app.add_option("--boot-time", boot, "seconds a worker must live to count as booted")->capture_default_str();
  app.add_option("--backoff-min", bmin, "first restart delay, doubled per quick death")->capture_default_str();
  app.add_option("--backoff-max", bmax, "longest restart delay")->capture_default_str();
  app.add_option("--boot-failures", o.boot_failures, "deaths at boot in a row that stop the master")->capture_default_str();
  app.add_option("--max-requests", o.max_requests, "recycle a worker after this many requests (0: never)");
  app.add_option("--max-requests-jitter", o.max_requests_jitter, "add a random 0..N to --max-requests per worker");
  app.add_option("-u,--user", o.user, "user the workers run as (the master binds first)");
  app.add_option("-g,--group", o.group, "group the workers run as");
  app.add_option("-p,--pid-file", o.pid_file, "write the master's pid here");
  app.add_option("-c,--control", o.control, "unix socket for `greenev-launch status`");
  app.add_option("--log-file", o.log_file, "append master and worker output here (reopened on SIGUSR1)");
  app.add_option("--metrics", o.metrics, "host:port serving the workers' summed counters (Prometheus text)");
  app.add_option("program", program, "the worker program and its arguments (after --)");

  std::string control_path;
  std::string command;
  for (const char* c : {"status", "reload", "stop"}) {
    auto* sub = app.add_subcommand(c, std::string(c) == "status"
                                          ? "print per-worker pid, uptime, restarts, connections, requests, fibers, RSS"
                                          : std::string("ask the master to ") + c);
    sub->add_option("-c,--control", control_path, "the master's --control socket")->required();
    sub->callback([&command, c] { command = c; });
  }
  CLI11_PARSE(app, argc, argv);

  if (!command.empty()) {
    std::string reply, error;
    if (greenev::detail::launcher::control_request(control_path, command, reply, error) != 0) {
      std::fprintf(stderr, "greenev-launch %s: %s\n", command.c_str(), error.c_str());
      return 1;
    }
    std::fwrite(reply.data(), 1, reply.size(), stdout);
    return 0;
  }
  o.graceful_timeout = ms(graceful);
  o.heartbeat_timeout = ms(heartbeat);
  o.boot_time = ms(boot);
  o.backoff_min = ms(bmin);
  o.backoff_max = ms(bmax);
  try {
    auto spawner = std::make_unique<greenev::detail::launcher::ExecSpawner>(program);
    greenev::detail::launcher::Master master(o, std::move(spawner));
    return master.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "greenev-launch: %s\n", e.what());
    return 2;
  }
}
