// tests/server_child_test.cpp — StreamServer behaviours run in child programs (progs/server_prog):
// fd exhaustion under a lowered RLIMIT_NOFILE, systemd socket activation at fd 3, SIGTERM stop.
#include "test_support.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <csignal>
#include <cstring>
#include <string>
#include <vector>

namespace {

// Runs server_prog with a listening socket at fd 3 and LISTEN_FDS=1; LISTEN_PID is the child's
// own pid unless wrong_pid. Bounded: the child is killed after 20 s.
test::ChildResult run_activated(bool wrong_pid) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(s, 16) == 0);
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  const std::string path = test::prog_path("server_prog");
  const char* mode = wrong_pid ? "no-listen-fds" : "listen-fds";
  // Everything the child needs is built before fork (only async-signal-safe calls after it).
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "LISTEN_", 7) != 0) env.emplace_back(*e);
  env.emplace_back("LISTEN_FDS=1");
  env.emplace_back("LISTEN_FDNAMES=http");
  env.emplace_back("LISTEN_PID=1");
  env.back().reserve(64);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* pid_slot = env.back().data();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!wrong_pid) {  // LISTEN_PID=<own pid>
      char digits[16];
      int n = 0;
      for (pid_t v = ::getpid(); v > 0; v /= 10) digits[n++] = static_cast<char>('0' + v % 10);
      char* p = pid_slot + 11;
      while (n > 0) *p++ = digits[--n];
      *p = '\0';
    }
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    if (s != 3) {
      ::dup2(s, 3);
    } else {
      ::fcntl(3, F_SETFD, 0);
    }
    ::alarm(20);  // the time bound survives exec
    char* argv[] = {const_cast<char*>(path.c_str()), const_cast<char*>(mode), nullptr};
    ::execve(path.c_str(), argv, envp.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(s);
  test::ChildResult r;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) r.out.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  r.signaled = WIFSIGNALED(st);
  r.signal = r.signaled ? WTERMSIG(st) : 0;
  r.exit_code = r.signaled ? -1 : WEXITSTATUS(st);
  return r;
}

}  // namespace

TEST_CASE("EMFILE: accept pauses with back-off (CPU stays low) and serving resumes when fds free up") {
  auto r = test::run_child("server_prog", {"emfile"});
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("Too many open files; pausing accept") != std::string::npos);
  CHECK(r.out.find("accepting again") != std::string::npos);
}

TEST_CASE("LISTEN_FDS/LISTEN_PID: the fd-3 socket is adopted and the variables unset") {
  auto r = run_activated(false);
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("adopted 127.0.0.1:") != std::string::npos);
}

TEST_CASE("LISTEN_PID of another process: nothing is adopted, start() says why") {
  auto r = run_activated(true);
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("no LISTEN_FDS for this process") != std::string::npos);
}

TEST_CASE("stop_on_signals: SIGTERM stops gracefully and serve_forever returns") {
  auto r = test::run_child("server_prog", {"signals"});
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("SIGTERM, stopping (grace 2000 ms)") != std::string::npos);
  CHECK(r.out.find("stopped by SIGTERM") != std::string::npos);
}
