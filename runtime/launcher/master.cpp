// runtime/launcher/master.cpp — the master's life cycle: setup, spawning, exits and restarts, stop.
//
// Restart policy: a worker that dies while booting (before boot_time) counts a boot failure for
// its slot; boot_failures in a row stop the master (exit 1) with the last cause in the message.
// Any unexpected death restarts the slot after a back-off that starts at backoff_min and doubles
// on each quick death up to backoff_max; a worker that lived 5 s resets it. Deaths of retiring
// workers (reload, TTOU, stop) are logged and never restarted. master_ops.cpp holds the signal
// driven operations (reload, TTIN/TTOU, heartbeat ticker, control socket, orphan reaping).
#include "launcher/master.hpp"

#include <greenev/fiber.hpp>
#include <greenev/io.hpp>
#include <greenev/signal.hpp>
#include <greenev/this_fiber.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <random>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace greenev::detail::launcher {

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string describe_exit(const Worker& w) {
  char buf[128];
  if (w.exit_code == CLD_EXITED) {
    std::snprintf(buf, sizeof buf, "exited with status %d", w.exit_status);
  } else if (w.exit_code == CLD_KILLED || w.exit_code == CLD_DUMPED) {
    std::snprintf(buf, sizeof buf, "killed by signal %d (%s)%s", w.exit_status, sigabbrev_np(w.exit_status) ? sigabbrev_np(w.exit_status) : "?",
                  w.exit_code == CLD_DUMPED ? ", core dumped" : "");
  } else {
    std::snprintf(buf, sizeof buf, "ended (status unknown)");
  }
  return buf;
}

}  // namespace

Master::Master(LaunchOptions opts, std::unique_ptr<Spawner> spawner) : opts_(std::move(opts)), spawner_(std::move(spawner)) {}

Master::~Master() {
  for (auto& l : listeners_) {
    if (l.fd >= 0) ::close(l.fd);
    if (!l.unix_path.empty()) ::unlink(l.unix_path.c_str());
  }
  for (auto& s : slots_)
    for (int fd : s->own_fds) ::close(fd);
  if (control_fd_ >= 0) {
    ::close(control_fd_);
    ::unlink(opts_.control.c_str());
  }
  if (metrics_fd_ >= 0) ::close(metrics_fd_);
}

void Master::setup() {
  log_set_tag(opts_.name);
  if (!opts_.log_file.empty()) log_open_file(opts_.log_file);
  notify_.init();
  if (notify_.enabled()) notify_.send("MAINPID=" + std::to_string(::getpid()));
  listeners_ = adopt_systemd_fds();
  for (const auto& spec : opts_.listen) listeners_.push_back(open_listener(spec, opts_.reuse_port, opts_.backlog));
  if (opts_.workers <= 0) opts_.workers = default_worker_count();
  allowed_cpus_ = allowed_cpus();
  if (!opts_.user.empty() || !opts_.group.empty()) {
    creds_ = resolve_credentials(opts_.user, opts_.group);
    have_creds_ = true;
  }
  if (!opts_.pid_file.empty()) pid_file_.acquire(opts_.pid_file);
  if (!opts_.metrics.empty()) {
    Listener m = open_listener(opts_.metrics, false, 64);
    metrics_fd_ = m.fd;
    metrics_name_ = m.name;
  }
  if (!opts_.control.empty()) {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    if (opts_.control.size() >= sizeof un.sun_path) throw std::runtime_error("control socket path too long");
    std::memcpy(un.sun_path, opts_.control.data(), opts_.control.size());
    ::unlink(opts_.control.c_str());
    control_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (control_fd_ < 0 || ::bind(control_fd_, reinterpret_cast<sockaddr*>(&un), sizeof un) != 0 ||
        ::listen(control_fd_, 16) != 0)
      throw std::runtime_error("cannot open control socket " + opts_.control + ": " + std::strerror(errno));
  }
}

int Master::cpu_for(int index) const {
  if (!opts_.pin_cpus || allowed_cpus_.empty()) return -1;
  return allowed_cpus_[static_cast<std::size_t>(index) % allowed_cpus_.size()];
}

void Master::start_slot(Slot& s) {
  if (opts_.reuse_port && s.own_fds.empty()) {
    for (const auto& l : listeners_) {
      bool shared = l.adopted || !l.unix_path.empty();
      s.own_fds.push_back(shared ? -1 : open_sibling(l, opts_.backlog));
    }
  }
  spawn_worker(s);
}

void Master::spawn_worker(Slot& s) {
  SpawnRequest req;
  req.index = s.index;
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    int fd = listeners_[i].fd;
    if (opts_.reuse_port && i < s.own_fds.size() && s.own_fds[i] >= 0) fd = s.own_fds[i];
    req.fds.push_back(fd);
    req.names.push_back(listeners_[i].name);
  }
  req.cpu = cpu_for(s.index);
  req.creds = have_creds_ ? &creds_ : nullptr;
  int sv[2] = {-1, -1};
  const bool hb = opts_.heartbeat_timeout.count() > 0;
  if (hb && ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    mlog("cannot create the heartbeat socketpair for worker %d: %s", s.index, std::strerror(errno));
    sv[0] = sv[1] = -1;
  }
  req.heartbeat_fd = sv[1];
  req.heartbeat_master_fd = sv[0];
  auto w = std::make_shared<Worker>();
  w->index = s.index;
  w->hb = sv[0];
  w->started = Clock::now();
  if (opts_.max_requests) {
    static std::minstd_rand rng(static_cast<unsigned>(::getpid()));
    std::uint64_t jitter = opts_.max_requests_jitter ? rng() % (opts_.max_requests_jitter + 1) : 0;
    w->max_requests = opts_.max_requests + jitter;
  }
  Spawned sp;
  try {
    sp = spawner_->spawn(req);
  } catch (const std::exception& e) {
    if (sv[1] >= 0) ::close(sv[1]);
    if (sv[0] >= 0) ::close(sv[0]);
    // Treated as a death at boot: the slot backs off and the crash-loop rule applies.
    mlog("cannot start worker %d: %s", s.index, e.what());
    w->exit_code = 0;
    s.current = w;
    w->state = WorkerState::exited;
    on_exit(w);
    return;
  }
  if (sv[1] >= 0) ::close(sv[1]);
  w->pid = sp.pid;
  w->pidfd = sp.pidfd;
  s.current = w;
  wlog(s.index, w->pid, "started%s%s", req.cpu >= 0 ? " on cpu " : "", req.cpu >= 0 ? std::to_string(req.cpu).c_str() : "");
  go("worker " + std::to_string(s.index) + " exit", [this, w] { watch(w); });
  if (w->hb >= 0) go("worker " + std::to_string(s.index) + " heartbeat", [this, w] { read_heartbeat(w); });
  go("worker " + std::to_string(s.index) + " boot", [this, w] {
    if (w->gone.wait(opts_.boot_time)) return;
    if (w->state != WorkerState::booting) return;
    w->state = WorkerState::running;
    if (w->index < static_cast<int>(slots_.size())) slots_[static_cast<std::size_t>(w->index)]->boot_failures = 0;
    w->booted.set();
  });
}

void Master::watch(std::shared_ptr<Worker> w) {
  for (;;) {
    wait_readable(w->pidfd);
    siginfo_t si{};
    long r = ::syscall(SYS_waitid, P_PIDFD, w->pidfd, &si, WEXITED | WNOHANG, nullptr);
    if (r == 0 && si.si_pid == 0) continue;  // readable but not yet waitable: wait again
    if (r == 0) {
      w->exit_code = si.si_code;
      w->exit_status = si.si_status;
    } else {
      w->exit_code = 0;  // reaped elsewhere (cannot happen unless someone else waits for it)
    }
    break;
  }
  on_exit(w);
  if (::getpid() == 1) reap_orphans();
}

void Master::on_exit(const std::shared_ptr<Worker>& w) {
  if (w->hb >= 0) {
    // Drain what the worker said last (its abort report) before the socket goes.
    for (;;) {
      HbMsg m;
      ssize_t n = ::recv(w->hb, &m, sizeof m, MSG_DONTWAIT);
      if (n <= 0) break;
      if (m.type == HbType::abort_report && w->abort_text.empty()) {
        m.text[sizeof m.text - 1] = '\0';
        w->abort_text = m.text;
        wlog(w->index, w->pid, "SIGABRT report: %s", m.text);
      }
    }
    ::close(w->hb);
    w->hb = -1;
  }
  if (w->pidfd >= 0) {
    ::close(w->pidfd);
    w->pidfd = -1;
  }
  const bool at_boot = w->state == WorkerState::booting;
  const bool was_retiring = w->state == WorkerState::retiring || w->replaced;
  w->state = WorkerState::exited;
  w->gone.set();
  const double up = seconds_since(w->started);
  retired_requests_ += w->stats.requests;
  const std::string how = describe_exit(*w);

  auto it = std::find(retiring_.begin(), retiring_.end(), w);
  if (it != retiring_.end()) retiring_.erase(it);
  Slot* s = w->index < static_cast<int>(slots_.size()) ? slots_[static_cast<std::size_t>(w->index)].get() : nullptr;
  const bool current = s && s->current == w;
  if (!current || was_retiring || stopping_) {
    if (w->pid > 0) wlog(w->index, w->pid, "%s after %.1f s (retired)", how.c_str(), up);
    if (s && s->removed && !s->current) {  // TTOU: its own SO_REUSEPORT sockets go with it
      for (int& fd : s->own_fds)
        if (fd >= 0) ::close(fd), fd = -1;
      s->own_fds.clear();
    }
    update_status();
    return;
  }
  s->current = nullptr;
  if (at_boot) {
    ++s->boot_failures;
  }
  if (at_boot && s->boot_failures >= opts_.boot_failures) {
    char why[512];
    std::snprintf(why, sizeof why, "worker %d failed at boot %d times in a row (last: %s%s%s after %.2f s); giving up",
                  w->index, s->boot_failures, w->pid > 0 ? "" : "could not start", w->pid > 0 ? how.c_str() : "",
                  w->abort_text.empty() ? "" : (", " + w->abort_text).c_str(), up);
    fatal(why);
    return;
  }
  if (!at_boot && up >= 5.0) {
    s->backoff = opts_.backoff_min;
  } else {
    s->backoff = s->backoff.count() == 0 ? opts_.backoff_min : std::min(s->backoff * 2, opts_.backoff_max);
  }
  ++s->restarts;
  if (w->pid > 0)
    wlog(w->index, w->pid, "%s after %.2f s%s%s; restarting in %.2f s", how.c_str(), up, at_boot ? " (at boot)" : "",
         w->hung ? " (hung)" : "", std::chrono::duration<double>(s->backoff).count());
  s->restart_pending = true;
  Slot* sp = s;
  go("restart " + std::to_string(s->index), [this, sp] {
    sleep(sp->backoff);
    sp->restart_pending = false;
    if (stopping_ || sp->removed || sp->current) return;
    spawn_worker(*sp);
  });
  update_status();
}

void Master::retire(const std::shared_ptr<Worker>& w, const char* why) {
  if (w->state == WorkerState::exited || w->state == WorkerState::retiring) return;
  w->state = WorkerState::retiring;
  w->booted.set();
  if (std::find(retiring_.begin(), retiring_.end(), w) == retiring_.end()) retiring_.push_back(w);
  wlog(w->index, w->pid, "stopping gracefully (%s)", why);
  ::kill(w->pid, SIGTERM);
  go("worker " + std::to_string(w->index) + " retire", [this, w] {
    if (w->gone.wait(opts_.graceful_timeout)) return;
    wlog(w->index, w->pid, "still running after the graceful timeout (%.1f s): SIGKILL",
         std::chrono::duration<double>(opts_.graceful_timeout).count());
    ::kill(w->pid, SIGKILL);
  });
}

std::vector<std::shared_ptr<Worker>> Master::all_workers() const {
  std::vector<std::shared_ptr<Worker>> out;
  for (const auto& s : slots_)
    if (s->current && s->current->state != WorkerState::exited) out.push_back(s->current);
  for (const auto& w : retiring_)
    if (w->state != WorkerState::exited) out.push_back(w);
  return out;
}

void Master::fatal(std::string why) {
  if (stopping_) return;
  mlog("%s", why.c_str());
  fatal_reason_ = std::move(why);
  exit_status_ = 1;
  go("stop", [this] { stop(true); });
}

void Master::stop(bool graceful) {
  if (stopping_ && graceful) return;  // a second TERM does not restart the countdown; QUIT escalates
  const bool first = !stopping_;
  stopping_ = true;
  if (first) notify_.send("STOPPING=1");
  auto workers = all_workers();
  mlog("%s stop of %zu worker(s)", graceful ? "graceful" : "immediate", workers.size());
  for (auto& w : workers) {
    w->state = WorkerState::retiring;
    ::kill(w->pid, graceful ? SIGTERM : SIGQUIT);
  }
  const auto deadline = Clock::now() + (graceful ? opts_.graceful_timeout : std::chrono::milliseconds(1000));
  for (auto& w : workers) {
    if (!w->gone.wait_until(deadline)) {
      wlog(w->index, w->pid, "still running %s: SIGKILL", graceful ? "after the graceful timeout" : "1 s after SIGQUIT");
      ::kill(w->pid, SIGKILL);
    }
  }
  for (auto& w : workers) w->gone.wait(std::chrono::seconds(10));
  done_.set();
}

void Master::drop_in_child(const SpawnRequest& req) {
  signals_.clear();
  auto keep = [&req](int fd) {
    return fd == req.heartbeat_fd || std::find(req.fds.begin(), req.fds.end(), fd) != req.fds.end();
  };
  auto drop = [&keep](int& fd) {
    if (fd >= 0 && !keep(fd)) ::close(fd);
    fd = -1;
  };
  for (auto& l : listeners_) drop(l.fd);
  for (auto& s : slots_) {
    for (int& fd : s->own_fds) drop(fd);
    if (s->current) drop(s->current->pidfd), drop(s->current->hb);
  }
  for (auto& w : retiring_) drop(w->pidfd), drop(w->hb);
  int m = req.heartbeat_master_fd;
  drop(m);
  drop(control_fd_);
  drop(metrics_fd_);
  listeners_.clear();
  ::unsetenv("NOTIFY_SOCKET");
}

int Master::run() {
  started_ = Clock::now();
  try {
    setup();
  } catch (const std::exception& e) {
    log_set_tag(opts_.name);
    mlog("%s", e.what());
    return 2;
  }
  std::string where;
  for (const auto& l : listeners_) where += (where.empty() ? "" : ", ") + l.name;
  mlog("starting %d worker(s) of %s%s%s%s", opts_.workers, spawner_->what().c_str(), where.empty() ? "" : " on ", where.c_str(),
       ::getpid() == 1 ? " (as PID 1: reaping orphans)" : "");

  // Each signal's work runs in a master fiber (killed at exit), not in the handler's own fiber.
  auto on = [this](int sig, const char* name, auto fn) {
    signals_.push_back(std::make_unique<SignalHandler>(sig, [this, name, fn] { go(name, fn); }));
  };
  on(SIGTERM, "stop", [this] { stop(true); });
  on(SIGINT, "stop", [this] { stop(true); });
  on(SIGQUIT, "stop", [this] { stop(false); });
  on(SIGHUP, "reload", [this] { reload(); });
  on(SIGTTIN, "ttin", [this] { add_worker(); });
  on(SIGTTOU, "ttou", [this] { remove_worker(); });
  on(SIGUSR1, "reopen", [this] { reopen_logs(); });
  if (::getpid() == 1) on(SIGCHLD, "reap", [this] { reap_orphans(); });
  std::signal(SIGPIPE, SIG_IGN);

  for (int i = 0; i < opts_.workers; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    slots_.back()->index = i;
  }
  for (auto& s : slots_) start_slot(*s);
  go("ticker", [this] { ticker(); });
  if (control_fd_ >= 0) go("control", [this] { serve_control(); });
  if (metrics_fd_ >= 0) {
    mlog("metrics on http://%s/metrics", metrics_name_.c_str());
    go("metrics", [this] { serve_metrics(); });
  }
  go("ready", [this] {
    for (auto& s : slots_)
      while (!stopping_ && !(s->current && s->current->booted.is_set())) sleep(std::chrono::milliseconds(20));
    if (stopping_) return;
    mlog("%zu worker(s) ready", slots_.size());
    notify_.send("READY=1");
    update_status();
  });
  try {
    done_.wait();
  } catch (const LoopExit&) {
    mlog("internal error: nothing left to wait for");
    exit_status_ = 1;
  }
  fibers_.kill();
  signals_.clear();
  pid_file_.release();
  mlog("stopped%s%s", fatal_reason_.empty() ? "" : ": ", fatal_reason_.c_str());
  return exit_status_;
}

}  // namespace greenev::detail::launcher
