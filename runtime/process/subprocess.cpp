// runtime/process/subprocess.cpp — Subprocess: posix_spawn, pipes through the fd table, pidfd waits.
//
// The child gets an empty signal mask and default SIGPIPE/SIGXFSZ (the hub thread may block
// signals for its own watchers, and a child must not inherit that). Pipes are created O_CLOEXEC
// and dup2'd onto 0-2 by the spawn's file actions; with close_fds every other fd >= 3 is closed
// in the child (closefrom), pass_fds excepted. communicate() runs one helper fiber per pipe with
// the patched blocking read/write, so neither side can fill a pipe while the other waits: no
// deadlock whatever the sizes. Helpers never outlive the call (an RAII guard kills and joins them,
// also when the caller is killed or times out), and they only touch this object and the input.
// Rejected: a poll() loop over non-blocking fds (it would need the fds non-blocking in the user's
// view, which stdout_fd() users would then see) and threads per pipe (Python's Windows path).
#include "process/child_watch.hpp"

#include "io/io.hpp"

#include <greenev/fiber.hpp>
#include <greenev/subprocess.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <system_error>
#include <unistd.h>

extern char** environ;

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

namespace greenev {

namespace {

using namespace detail;

[[noreturn]] void throw_errno(int e, const std::string& what) {
  throw std::system_error(e, std::generic_category(), "greenev: " + what);
}

// Throws what a failed cooperative wait means: the Timeout scope, the kill, or the OS error.
[[noreturn]] void raise_wait_error(int e, const char* what) {
  if (e == ETIMEDOUT) raise_for(WakeReason::scope_timeout);
  if (e == ECANCELED) raise_for(WakeReason::killed);
  throw_errno(e, what);
}

int return_code(int status) noexcept {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return status;
}

struct SpawnResources {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  int close_after[4] = {-1, -1, -1, -1};  // the child's ends and /dev/null: closed here after spawn
  SpawnResources() {
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
  }
  ~SpawnResources() {
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    for (int fd : close_after)
      if (fd >= 0) ::close(fd);
  }
};

bool fd_open(int fd) noexcept { return fcntl(fd, F_GETFD) >= 0; }

void read_all(int fd, std::string& out) noexcept {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      try {
        out.append(buf, static_cast<std::size_t>(n));
      } catch (...) {
        return;
      }
    } else if (n == 0 || errno != EINTR) {
      return;
    }
  }
}

// Kills and joins communicate()'s helpers whatever way the call ends.
struct Helpers {
  std::vector<Fiber<void>> fs;
  ~Helpers() {
    for (auto& f : fs) {
      try {
        f.kill();
      } catch (...) {
      }
    }
  }
};

}  // namespace

namespace {
SubprocessOptions with_argv(std::vector<std::string> argv) {
  SubprocessOptions o;
  o.argv = std::move(argv);
  return o;
}
}  // namespace

Subprocess::Subprocess(std::vector<std::string> argv) : Subprocess(with_argv(std::move(argv))) {}

Subprocess::Subprocess(SubprocessOptions o) {
  if (o.argv.empty()) throw std::invalid_argument("greenev: Subprocess needs a program (argv is empty)");
  SpawnResources r;
  int devnull = -1;
  const Stdio* spec[3] = {&o.in, &o.out, &o.err};
  try {
    for (int i = 0; i < 3; ++i) {
      const Stdio& s = *spec[i];
      int child_end = -1;
      switch (s.kind) {
        case Stdio::inherit_:
          continue;
        case Stdio::pipe_: {
          int p[2];
          if (::pipe2(p, O_CLOEXEC) != 0) throw_errno(errno, "pipe2");
          fds_[i] = i == 0 ? p[1] : p[0];
          child_end = i == 0 ? p[0] : p[1];
          r.close_after[i] = child_end;
          break;
        }
        case Stdio::devnull_:
          if (devnull < 0) {
            devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
            if (devnull < 0) throw_errno(errno, "open /dev/null");
            r.close_after[3] = devnull;
          }
          child_end = devnull;
          break;
        case Stdio::fd_:
          child_end = s.fd;
          break;
        case Stdio::stdout_:
          if (i != 2) throw std::invalid_argument("greenev: Stdio::to_stdout() is for stderr only");
          child_end = 1;
          break;
      }
      posix_spawn_file_actions_adddup2(&r.fa, child_end, i);
    }
    int max_pass = 2;
    for (int fd : o.pass_fds) {
      if (!fd_open(fd)) throw_errno(EBADF, "pass_fds: fd " + std::to_string(fd) + " is not open");
      posix_spawn_file_actions_adddup2(&r.fa, fd, fd);  // same number: clears FD_CLOEXEC in the child
      max_pass = std::max(max_pass, fd);
    }
    if (o.close_fds) {
      for (int fd = 3; fd < max_pass; ++fd)
        if (std::find(o.pass_fds.begin(), o.pass_fds.end(), fd) == o.pass_fds.end() && fd_open(fd))
          posix_spawn_file_actions_addclose(&r.fa, fd);
      posix_spawn_file_actions_addclosefrom_np(&r.fa, max_pass + 1);
    }
    if (!o.cwd.empty()) posix_spawn_file_actions_addchdir_np(&r.fa, o.cwd.c_str());

    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGXFSZ);
    posix_spawnattr_setsigmask(&r.attr, &none);
    posix_spawnattr_setsigdefault(&r.attr, &defaults);
    if (o.new_session) flags |= POSIX_SPAWN_SETSID;
    if (o.new_process_group && !o.new_session) {
      flags |= POSIX_SPAWN_SETPGROUP;
      posix_spawnattr_setpgroup(&r.attr, 0);
    }
    posix_spawnattr_setflags(&r.attr, flags);

    std::vector<char*> argv;
    for (auto& a : o.argv) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    if (o.env) {
      for (auto& e : *o.env) envp.push_back(e.data());
      envp.push_back(nullptr);
    }
    char** env = o.env ? envp.data() : environ;
    const int rc = o.search_path ? posix_spawnp(&pid_, argv[0], &r.fa, &r.attr, argv.data(), env)
                                 : posix_spawn(&pid_, argv[0], &r.fa, &r.attr, argv.data(), env);
    if (rc != 0) {
      pid_ = -1;
      throw_errno(rc, "cannot run '" + o.argv[0] + "'");
    }
  } catch (...) {
    for (int i = 0; i < 3; ++i) close_fd(i);
    throw;
  }
  pidfd_ = open_pidfd(pid_);  // -1: waits poll instead (child_watch_method() says "poll")
}

Subprocess::Subprocess(Subprocess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      pidfd_(std::exchange(o.pidfd_, -1)),
      rc_(o.rc_),
      pending_out_(std::move(o.pending_out_)),
      pending_err_(std::move(o.pending_err_)),
      input_sent_(o.input_sent_) {
  for (int i = 0; i < 3; ++i) fds_[i] = std::exchange(o.fds_[i], -1);
}

Subprocess::~Subprocess() {
  for (int i = 0; i < 3; ++i) close_fd(i);
  if (pid_ > 0 && !rc_) {
    // Never a zombie: stop it and reap it (SIGKILL ends a process within milliseconds).
    send_signal(SIGKILL);
    int st = 0;
    pid_t r;
    if (Hub* h = coop_hub()) {
      r = coop_wait4(*h, pid_, &st, 0, nullptr, kForever, pidfd_);
      if (r < 0 && (errno == ECANCELED || errno == ETIMEDOUT)) {
        while ((r = sys_wait4(pid_, &st, 0, nullptr)) < 0 && errno == EINTR) {}
      }
    } else {
      while ((r = sys_wait4(pid_, &st, 0, nullptr)) < 0 && errno == EINTR) {}
    }
  }
  close_owned_fd(std::exchange(pidfd_, -1));
}

void Subprocess::close_fd(int i) noexcept {
  if (fds_[i] >= 0) ::close(std::exchange(fds_[i], -1));
}

void Subprocess::close_stdin() noexcept { close_fd(0); }

void Subprocess::reaped(int status) noexcept {
  rc_ = return_code(status);
  close_owned_fd(std::exchange(pidfd_, -1));
}

std::optional<int> Subprocess::poll() {
  if (rc_ || pid_ <= 0) return rc_;
  int st = 0;
  const pid_t r = sys_wait4(pid_, &st, WNOHANG, nullptr);
  if (r == pid_) reaped(st);
  else if (r < 0 && errno != EINTR) throw_errno(errno, "waitpid");
  return rc_;
}

int Subprocess::wait() { return *wait_until_ns(kForever); }

std::optional<int> Subprocess::wait_until_ns(Deadline d) {
  if (rc_ || pid_ <= 0) return rc_;
  int st = 0;
  const pid_t r = coop_wait4(Hub::current(), pid_, &st, 0, nullptr, d, pidfd_);
  if (r == pid_) {
    reaped(st);
    return rc_;
  }
  if (r == 0) return std::nullopt;
  if (errno == ECHILD) {
    // Someone else reaped it (the application's own waitpid(-1)): its status went there.
    throw_errno(ECHILD, "child " + std::to_string(pid_) + " was reaped by another waitpid() caller");
  }
  raise_wait_error(errno, "waitpid");
}

void Subprocess::send_signal(int sig) {
  if (pid_ <= 0 || rc_) return;  // reaped: the pid may be someone else's now
  if (pidfd_ >= 0) {
    if (syscall(SYS_pidfd_send_signal, pidfd_, sig, nullptr, 0) == 0) return;
    if (errno == ESRCH) return;  // exited, not yet reaped
    if (errno != ENOSYS) throw_errno(errno, "pidfd_send_signal");
  }
  if (::kill(pid_, sig) != 0 && errno != ESRCH) throw_errno(errno, "kill");
}

void Subprocess::terminate() { send_signal(SIGTERM); }
void Subprocess::kill() { send_signal(SIGKILL); }

Subprocess::Output Subprocess::communicate(std::string_view input) { return communicate_until_ns(input, kForever); }

Subprocess::Output Subprocess::communicate_until_ns(std::string_view input, Deadline d) {
  {
    Helpers h;
    if (fds_[0] >= 0) {
      if (input_sent_ < input.size()) {
        h.fs.push_back(spawn([this, input] {
          while (input_sent_ < input.size()) {
            const ssize_t n = ::write(fds_[0], input.data() + input_sent_, input.size() - input_sent_);
            if (n > 0) input_sent_ += static_cast<std::size_t>(n);
            else if (n < 0 && errno == EINTR) continue;
            else break;  // EPIPE: the child stopped reading; ECANCELED: the call is ending
          }
          if (input_sent_ >= input.size()) close_stdin();
        }));
      } else {
        close_stdin();
      }
    }
    if (fds_[1] >= 0) h.fs.push_back(spawn([this] { read_all(fds_[1], pending_out_); }));
    if (fds_[2] >= 0) h.fs.push_back(spawn([this] { read_all(fds_[2], pending_err_); }));
    for (auto& f : h.fs) {
      if (!f.wait(std::chrono::nanoseconds(std::max<Deadline>(d - now_ns(), 0))))
        throw SubprocessTimeout(pending_out_, pending_err_);
    }
    h.fs.clear();
  }
  close_stdin();  // input fully sent, or the child closed its end
  close_fd(1);
  close_fd(2);
  if (!wait_until_ns(d)) throw SubprocessTimeout(pending_out_, pending_err_);
  Output out{std::move(pending_out_), std::move(pending_err_), *rc_};
  pending_out_.clear();
  pending_err_.clear();
  input_sent_ = 0;
  return out;
}

std::string check_output(SubprocessOptions opts, std::string_view input, Deadline d) {
  if (opts.out.kind == Stdio::inherit_) opts.out = Stdio::pipe();
  if (opts.err.kind == Stdio::inherit_) opts.err = Stdio::pipe();
  if (opts.in.kind == Stdio::inherit_ && !input.empty()) opts.in = Stdio::pipe();
  const std::string prog = opts.argv.empty() ? std::string() : opts.argv[0];
  Subprocess p(std::move(opts));
  Subprocess::Output o;
  try {
    o = p.communicate_until_ns(input, d);
  } catch (const SubprocessTimeout&) {
    p.kill();
    p.wait();
    throw;
  }
  if (o.returncode != 0) {
    std::string what = "greenev: '" + prog + "' ";
    what += o.returncode > 0 ? "exited with status " + std::to_string(o.returncode)
                             : std::string("was killed by signal ") + std::to_string(-o.returncode) + " (" +
                                   strsignal(-o.returncode) + ")";
    if (!o.err.empty()) {
      std::string e = o.err;
      if (e.size() > 4000) e = "..." + e.substr(e.size() - 4000);
      while (!e.empty() && (e.back() == '\n' || e.back() == '\r')) e.pop_back();
      what += ": " + e;
    }
    throw CalledProcessError(what, o.returncode, std::move(o.out), std::move(o.err));
  }
  return std::move(o.out);
}

std::string check_output(std::vector<std::string> argv, std::string_view input) {
  SubprocessOptions o;
  o.argv = std::move(argv);
  return check_output(std::move(o), input, kForever);
}

int call(std::vector<std::string> argv) { return Subprocess(std::move(argv)).wait(); }

}  // namespace greenev
