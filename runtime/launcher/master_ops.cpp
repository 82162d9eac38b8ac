// runtime/launcher/master_ops.cpp — what the master does on signals and timers: heartbeats and
// hang handling, zero-downtime reload, TTIN/TTOU, log reopening, orphan reaping (PID 1), status.
//
// Reload keeps the listening sockets open in the master the whole time, so the kernel queues every
// connection that arrives while workers change hands: the new worker of a slot is started first,
// and only once it has booted is the old one sent SIGTERM (it stops accepting, finishes its
// in-flight requests and closes keep-alive connections between requests). In SO_REUSEPORT mode
// the new worker inherits the *same* per-slot socket, so no accept queue is ever closed with
// connections in it. Hang handling: a worker that said hello (a greenev hub) and has not answered
// pings for heartbeat_timeout is sent SIGABRT on its hub thread (its handler names the running
// fiber), and SIGKILL 3 s later if still alive; the exit path then restarts it.
#include "launcher/master.hpp"

#include <greenev/fiber.hpp>
#include <greenev/io.hpp>
#include <greenev/this_fiber.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace greenev::detail::launcher {

namespace {
double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

void Master::read_heartbeat(std::shared_ptr<Worker> w) {
  const int fd = w->hb;
  while (w->state != WorkerState::exited && w->hb == fd) {
    HbMsg m;
    ssize_t n = ::recv(fd, &m, sizeof m, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EOF (worker gone or closed its end) or EBADF (on_exit closed ours)
    if (static_cast<std::size_t>(n) != sizeof m) continue;
    switch (m.type) {
      case HbType::hello:
        w->hub_tid = m.tid;
        w->last_pong = Clock::now();
        w->stats = m;
        break;
      case HbType::pong:
        w->last_pong = Clock::now();
        w->stats = m;
        if (w->max_requests && m.requests >= w->max_requests && w->state == WorkerState::running && !w->replaced &&
            !stopping_ && w->index < static_cast<int>(slots_.size())) {
          Slot& s = *slots_[static_cast<std::size_t>(w->index)];
          if (s.current == w) {
            char why[96];
            std::snprintf(why, sizeof why, "served %llu requests, max %llu", static_cast<unsigned long long>(m.requests),
                          static_cast<unsigned long long>(w->max_requests));
            go("recycle " + std::to_string(w->index), [this, &s, why = std::string(why)] { replace(s, why.c_str()); });
          }
        }
        break;
      case HbType::abort_report:
        m.text[sizeof m.text - 1] = '\0';
        if (w->abort_text.empty()) {
          w->abort_text = m.text;
          wlog(w->index, w->pid, "SIGABRT report: %s", m.text);
        }
        break;
      default:
        break;
    }
  }
}

void Master::ticker() {
  using namespace std::chrono;
  milliseconds tick(1000);
  if (opts_.heartbeat_timeout.count() > 0) tick = std::min(tick, std::max(milliseconds(50), opts_.heartbeat_timeout / 4));
  if (notify_.watchdog().count() > 0) tick = std::min(tick, std::max(milliseconds(10), duration_cast<milliseconds>(notify_.watchdog()) / 2));
  for (;;) {
    if (notify_.watchdog().count() > 0) notify_.send("WATCHDOG=1");
    const auto now = Clock::now();
    for (auto& w : all_workers()) {
      if (w->hb < 0 || w->hub_tid <= 0) continue;
      if (!w->hung && w->state != WorkerState::exited && now - w->last_pong > opts_.heartbeat_timeout) {
        w->hung = true;
        go("abort " + std::to_string(w->index), [this, w] { kill_hung(w); });
        continue;
      }
      HbMsg ping{};
      ping.type = HbType::ping;
      ping.seq = ++seq_;
      ssize_t n = ::send(w->hb, &ping, sizeof ping, MSG_DONTWAIT | MSG_NOSIGNAL);
      (void)n;  // a full buffer means the worker is behind anyway: the timeout decides
    }
    sleep(tick);
  }
}

void Master::kill_hung(const std::shared_ptr<Worker>& w) {
  wlog(w->index, w->pid, "no heartbeat answer for %.1f s (timeout %.1f s): hung; sending SIGABRT", secs(Clock::now() - w->last_pong),
       secs(opts_.heartbeat_timeout));
  ::syscall(SYS_tgkill, w->pid, w->hub_tid, SIGABRT);
  if (w->gone.wait(std::chrono::seconds(3))) return;
  wlog(w->index, w->pid, "still alive 3 s after SIGABRT: SIGKILL");
  ::kill(w->pid, SIGKILL);
}

void Master::replace(Slot& s, const char* why) {
  auto old = s.current;
  if (!old || old->replaced || stopping_) return;
  old->replaced = true;
  retiring_.push_back(old);  // still serving until its successor has booted
  s.current = nullptr;
  wlog(old->index, old->pid, "replacing (%s)", why);
  spawn_worker(s);
  // The successor may die at boot and be restarted: wait for whichever current boots.
  while (!stopping_) {
    auto cur = s.current;
    if (cur && cur->booted.wait(std::chrono::milliseconds(50)) && cur->state == WorkerState::running) break;
    if (!cur) sleep(std::chrono::milliseconds(50));
  }
  if (!stopping_) retire(old, why);
}

void Master::reload() {
  if (stopping_) return;
  if (reloading_) {
    mlog("reload already in progress; SIGHUP ignored");
    return;
  }
  reloading_ = true;
  ++reloads_;
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  notify_.send("RELOADING=1\nMONOTONIC_USEC=" +
               std::to_string(static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000));
  mlog("reload %llu: starting new workers, then retiring the old ones", static_cast<unsigned long long>(reloads_));
  Group g;
  for (auto& s : slots_) {
    if (s->removed || !s->current) continue;
    Slot* sp = s.get();
    g.spawn(SpawnOptions{"reload " + std::to_string(sp->index)}, [this, sp] { replace(*sp, "reload"); });
  }
  g.join();
  reloading_ = false;
  if (stopping_) return;
  mlog("reload %llu done", static_cast<unsigned long long>(reloads_));
  notify_.send("READY=1");
  update_status();
}

void Master::add_worker() {
  if (stopping_) return;
  Slot* s = nullptr;
  for (auto& sl : slots_)
    if (sl->removed) {
      s = sl.get();
      break;
    }
  if (!s) {
    slots_.push_back(std::make_unique<Slot>());
    s = slots_.back().get();
    s->index = static_cast<int>(slots_.size()) - 1;
  }
  s->removed = false;
  s->boot_failures = 0;
  s->backoff = {};
  ++opts_.workers;
  mlog("SIGTTIN: %d worker(s)", opts_.workers);
  if (!s->current && !s->restart_pending) start_slot(*s);
  update_status();
}

void Master::remove_worker() {
  if (stopping_) return;
  if (opts_.workers <= 1) {
    mlog("SIGTTOU ignored: at least one worker stays");
    return;
  }
  Slot* s = nullptr;
  for (auto it = slots_.rbegin(); it != slots_.rend(); ++it)
    if (!(*it)->removed) {
      s = it->get();
      break;
    }
  if (!s) return;
  s->removed = true;
  --opts_.workers;
  mlog("SIGTTOU: %d worker(s)", opts_.workers);
  if (auto w = s->current) {
    s->current = nullptr;
    retiring_.push_back(w);
    retire(w, "SIGTTOU");
  }
  update_status();
}

void Master::reopen_logs() {
  int fd = log_reopen();
  if (fd < 0) {
    mlog("SIGUSR1: no log file to reopen (stderr is not managed by --log-file)");
    return;
  }
  mlog("SIGUSR1: log file reopened");
  for (auto& w : all_workers()) {
    if (w->hb < 0 || w->hub_tid <= 0) continue;
    HbMsg m{};
    m.type = HbType::reopen_log;
    iovec iov{&m, sizeof m};
    alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))] = {};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t n = ::sendmsg(w->hb, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)n;
  }
  ::close(fd);
}

void Master::reap_orphans() {
  // As PID 1 every orphan of the container becomes our child. Peek first (WNOWAIT) so a worker's
  // status stays for its own pidfd watcher, which calls this again after reaping it.
  for (;;) {
    siginfo_t si{};
    if (::waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0) return;
    for (auto& w : all_workers())
      if (w->pid == si.si_pid) return;
    bool retired_worker = false;
    for (auto& s : slots_)
      if (s->current && s->current->pid == si.si_pid) retired_worker = true;
    if (retired_worker) return;
    siginfo_t done{};
    ::waitid(P_PID, static_cast<id_t>(si.si_pid), &done, WEXITED | WNOHANG);
    mlog("reaped orphan pid %d (%s %d)", static_cast<int>(si.si_pid), si.si_code == CLD_EXITED ? "status" : "signal",
         si.si_status);
  }
}

void Master::update_status() {
  if (!notify_.enabled()) return;
  int booted = 0;
  for (auto& s : slots_)
    if (s->current && s->current->state == WorkerState::running) ++booted;
  notify_.send("STATUS=" + std::to_string(booted) + "/" + std::to_string(opts_.workers) + " workers serving" +
               (reloading_ ? ", reloading" : "") + (stopping_ ? ", stopping" : ""));
}

std::string Master::status_text() const {
  char line[256];
  std::string out;
  std::string where;
  for (const auto& l : listeners_) where += (where.empty() ? "" : " ") + l.name;
  std::snprintf(line, sizeof line, "master pid %d uptime %.1fs workers %d reloads %llu%s%s\n", static_cast<int>(::getpid()),
                secs(Clock::now() - started_), opts_.workers, static_cast<unsigned long long>(reloads_),
                stopping_ ? " stopping" : "", reloading_ ? " reloading" : "");
  out += line;
  out += "listen " + (where.empty() ? std::string("-") : where) + "\n";
  std::snprintf(line, sizeof line, "%-5s %-8s %-9s %-9s %-8s %-6s %-10s %-7s %-10s\n", "index", "pid", "state", "uptime",
                "restarts", "conns", "requests", "fibers", "rss");
  out += line;
  auto row = [&](const Worker& w, int restarts) {
    static const char* const kStates[] = {"booting", "running", "retiring", "exited"};
    const bool hello = w.hub_tid > 0;
    std::snprintf(line, sizeof line, "%-5d %-8d %-9s %-9.1f %-8d %-6s %-10s %-7s %-10s\n", w.index, static_cast<int>(w.pid),
                  kStates[static_cast<int>(w.state)], secs(Clock::now() - w.started), restarts,
                  hello ? std::to_string(w.stats.connections).c_str() : "-",
                  hello ? std::to_string(w.stats.requests).c_str() : "-", hello ? std::to_string(w.stats.fibers).c_str() : "-",
                  hello ? (std::to_string(w.stats.rss_kb / 1024) + "." + std::to_string(w.stats.rss_kb % 1024 * 10 / 1024) + "MiB").c_str()
                        : "-");
    out += line;
  };
  for (const auto& s : slots_)
    if (s->current && s->current->state != WorkerState::exited) row(*s->current, s->restarts);
  for (const auto& w : retiring_)
    if (w->state != WorkerState::exited) row(*w, 0);
  return out;
}

void Master::serve_control() {
  for (;;) {
    int c = ::accept4(control_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == ECANCELED || stopping_) return;  // the master is shutting its fibers down
      mlog("control socket: accept: %s", std::strerror(errno));
      sleep(std::chrono::milliseconds(100));
      continue;
    }
    go("control client", [this, c] {
      char buf[256];
      std::string cmd;
      while (cmd.find('\n') == std::string::npos && cmd.size() < 200) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        cmd.append(buf, static_cast<std::size_t>(n));
      }
      cmd = cmd.substr(0, cmd.find('\n'));
      std::string reply;
      if (cmd == "status" || cmd.empty()) {
        reply = status_text();
      } else if (cmd == "reload") {
        go("reload", [this] { reload(); });
        reply = "reloading\n";
      } else if (cmd == "stop") {
        go("stop", [this] { stop(true); });
        reply = "stopping\n";
      } else {
        reply = "unknown command '" + cmd + "' (status, reload, stop)\n";
      }
      std::size_t off = 0;
      while (off < reply.size()) {
        ssize_t n = ::write(c, reply.data() + off, reply.size() - off);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
      ::close(c);
    });
  }
}

}  // namespace greenev::detail::launcher
