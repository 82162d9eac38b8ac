// tests/support/interop_support.hpp — what the interop proof tests (tests/interop_*_test.cpp) share:
// starting and always stopping third-party servers (redis-server, a slow HTTP server, a throwaway
// PostgreSQL cluster), free loopback ports, running a shell command with its output and exit status,
// and counting the hub switches that happen during one library call (proof that it yielded).
//
// Child processes and libev: the main thread's hub owns libev's default loop, whose SIGCHLD watcher
// reaps *any* child (waitpid(-1)) whenever the loop runs, i.e. whenever the main fiber parks once
// the patches are in. So nothing here trusts waitpid() for an exit status: sh() reports the status
// through the output pipe, and stopping a server treats ECHILD as "already gone".
#pragma once
#include "test_support.hpp"

#include <greenev/greenev.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <type_traits>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace test::interop {

using Clock = std::chrono::steady_clock;

// The full path of an executable found on PATH (plus the sbin directories root's PATH may lack), or
// "" when there is none.
inline std::string which(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "/usr/local/bin:/usr/bin:/bin";
  path += ":/usr/local/sbin:/usr/sbin:/sbin";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (!dir.empty()) {
      std::string p = dir + "/" + name;
      if (::access(p.c_str(), X_OK) == 0) return p;
    }
    start = end + 1;
  }
  return "";
}

// Shell-quotes one word for /bin/sh.
inline std::string shq(std::string_view s) {
  std::string r = "'";
  for (char c : s) {
    if (c == '\'') r += "'\\''";
    else r += c;
  }
  return r + "'";
}

struct ShResult {
  int rc = -1;       // the script's exit status as the shell saw it (-1: unknown)
  std::string out;   // stdout and stderr, interleaved, without the status line
};

// Runs `script` with /bin/sh, capturing its output. The exit status travels through the pipe (see
// the note at the top of the file), so it is exact even when libev reaps the shell.
//
// No doctest assertion in here: it is also called while doctest formats a failure message (a
// REQUIRE_MESSAGE argument), where a nested assertion would deadlock on doctest's reporter lock.
inline ShResult sh(const std::string& script) {
  static const std::string marker = "__greenev_sh_rc=";
  std::string wrapped = "exec 2>&1 </dev/null; ( " + script + " ); echo; echo " + marker + "$?";
  std::vector<std::string> args{"/bin/sh", "-c", wrapped};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ShResult r;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    r.out = std::string("sh: pipe2: ") + std::strerror(errno);
    return r;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, "/bin/sh", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    r.out = std::string("sh: cannot spawn /bin/sh: ") + std::strerror(rc);
    return r;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) r.out.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  ::close(fds[0]);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  auto pos = r.out.rfind(marker);
  if (pos != std::string::npos) {
    r.rc = std::atoi(r.out.c_str() + pos + marker.size());
    r.out.erase(pos);
    while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  }
  return r;
}

// A loopback TCP port that was free a moment ago (bind port 0, read it back, close). Whoever uses
// it must cope with losing the race (see RedisServer: retried with a new port).
inline int free_tcp_port() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(s >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(s);
  return ntohs(a.sin_port);
}

// A listening loopback socket on a kernel-chosen port: handed to a server we wrote ourselves, so no
// port race and no "wait until it listens" (connections queue in the backlog from the start).
struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 512) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  ~Listener() {
    if (fd >= 0) ::close(fd);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
};

// A mkdtemp directory, removed (recursively) when the guard goes.
struct TempDir {
  std::string path;
  explicit TempDir(const char* prefix) {
    std::string tmpl = std::string("/tmp/") + prefix + "-XXXXXX";
    std::vector<char> b(tmpl.begin(), tmpl.end());
    b.push_back('\0');
    REQUIRE(::mkdtemp(b.data()) != nullptr);
    path = b.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// A server child process that is always stopped: by stop() or the destructor (SIGTERM, then SIGKILL
// after 5 s), and by the kernel if the test process dies first (PR_SET_PDEATHSIG: `death_signal`,
// SIGKILL unless the child wants to clean up). Its stdin is /dev/null and its stdout/stderr go to a
// log file, never to the test's own output pipe (which would keep ctest waiting for an orphaned
// server). `pass_fd`, if given, becomes the child's fd 3.
class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { stop(); }

  // fork + raw syscalls in the child (no patched libc function runs between fork and exec).
  void start(const std::vector<std::string>& args, const std::string& log_path, int pass_fd = -1,
             int death_signal = SIGKILL) {
    REQUIRE(pid_ < 0);
    REQUIRE(!args.empty());
    std::vector<std::string> a = args;
    std::vector<char*> argv;
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    // Move every fd the child needs above 3, so the dup3()s below cannot overwrite one another.
    int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    REQUIRE_MESSAGE(log >= 0, "cannot open ", log_path);
    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(devnull >= 0);
    auto above3 = [](int fd) {
      int r = static_cast<int>(::syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 10));
      REQUIRE(r >= 10);
      return r;
    };
    int log_hi = above3(log), null_hi = above3(devnull), pass_hi = pass_fd >= 0 ? above3(pass_fd) : -1;
    ::close(log);
    ::close(devnull);
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
      ::syscall(SYS_dup3, null_hi, 0, 0);
      ::syscall(SYS_dup3, log_hi, 1, 0);
      ::syscall(SYS_dup3, log_hi, 2, 0);
      if (pass_hi >= 0) ::syscall(SYS_dup3, pass_hi, 3, 0);
      ::prctl(PR_SET_PDEATHSIG, death_signal);
      if (::syscall(SYS_getppid) != parent) ::_exit(127);
      ::execve(argv[0], argv.data(), environ);
      ::_exit(127);
    }
    ::close(log_hi);
    ::close(null_hi);
    if (pass_hi >= 0) ::close(pass_hi);
    REQUIRE_MESSAGE(pid > 0, "fork failed: ", errno);
    pid_ = pid;
    log_path_ = log_path;
  }

  pid_t pid() const noexcept { return pid_; }

  // False once the process has exited (reaped here, or by libev's SIGCHLD watcher).
  bool alive() {
    if (pid_ < 0 || exited_) return false;
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) exited_ = true;
    return !exited_;
  }

  void stop(int sig = SIGTERM) noexcept {
    if (pid_ < 0) return;
    if (!exited_) {
      ::kill(pid_, sig);
      auto deadline = Clock::now() + std::chrono::seconds(5);
      bool killed = false;
      for (;;) {
        int st = 0;
        pid_t r = ::waitpid(pid_, &st, WNOHANG);
        if (r == pid_ || (r < 0 && errno != EINTR)) break;  // gone (ECHILD: libev reaped it)
        if (!killed && Clock::now() > deadline) {
          ::kill(pid_, SIGKILL);
          killed = true;
        }
        ::usleep(5000);
      }
    }
    pid_ = -1;
    exited_ = false;
  }

  // The server's log (for failure messages).
  std::string log() const {
    std::string s;
    if (FILE* f = std::fopen(log_path_.c_str(), "r")) {
      char buf[4096];
      std::size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
      std::fclose(f);
    }
    if (s.size() > 4000) s = "..." + s.substr(s.size() - 4000);
    return s;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string log_path_;
};

// Connects to 127.0.0.1:port until it accepts (true) or the timeout passes or `server` dies (false).
inline bool wait_accepting(int port, ServerProcess& server, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (!server.alive()) return false;
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    int rc = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::close(s);
    if (rc == 0) return true;
    ::usleep(20000);
  }
  return false;
}

// For code that runs inside the test's fibers: throw instead of a doctest assertion (join_all
// rethrows it in main, and doctest reports it). doctest assertions log under a reporter mutex; a
// fiber parking in a patched write() to a full output pipe while holding it, and another fiber then
// asserting, would deadlock the thread. Fibers therefore record outcomes; main asserts on them.
template <class... Args>
void ensure(bool ok, const Args&... what) {
  if (ok) return;
  std::string msg;
  ((msg += [](const auto& v) {
     if constexpr (std::is_convertible_v<decltype(v), std::string_view>) return std::string(v);
     else return std::to_string(v);
   }(what)),
   ...);
  throw std::runtime_error(msg);
}

// Joins every fiber, then rethrows the first failure: a REQUIRE failing in one fiber must not leave
// the others running against the test's locals while the stack unwinds.
template <class T>
void join_all(std::vector<greenev::Fiber<T>>& fibers) {
  std::exception_ptr first;
  for (auto& f : fibers) {
    try {
      f.join();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

// Hub switches that happened while `fn` ran in the current fiber — gevent's switch_expected. A
// library call that blocked the whole thread lets nothing else run: 0. A call that parked its fiber
// switched away and back: >= 2 (the counter is the hub's, so other fibers' switches meanwhile count
// too, which only makes it larger). Comparing whole-run totals against a baseline does not work:
// how joins interleave changes the total by more than the calls do.
template <class F>
std::uint64_t switches_during(F&& fn) {
  const auto before = greenev::hub_stats().switches;
  std::forward<F>(fn)();
  return greenev::hub_stats().switches - before;
}

}  // namespace test::interop
