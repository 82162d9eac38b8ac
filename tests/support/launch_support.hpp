// tests/support/launch_support.hpp — driving a real greenev-launch from a test.
//
// Launch starts the master in its own process group (setsid) with stdout+stderr in a temp file;
// its destructor SIGKILLs the whole group and waits, so no worker outlives a failed test (workers
// also carry a parent-death SIGKILL). Every wait has an explicit, generous bound. The test process
// itself never creates a hub: all calls here are the plain, blocking libc ones.
#pragma once
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <signal.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace test {

inline std::string launcher_path() { return std::string(GREENEV_LAUNCHER); }
inline std::string worker_path() { return std::string(GREENEV_PROGS_DIR) + "/launch_worker"; }

inline void nap(double s) { ::usleep(static_cast<useconds_t>(s * 1e6)); }

struct CmdResult {
  int status = -1;
  std::string out;
};

// Runs a shell command, returns its exit status and stdout.
inline CmdResult sh(const std::string& cmd) {
  CmdResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

class Launch {
 public:
  // prefix: commands the launcher runs under ("taskset", "-c", "0"); env: extra "K=V".
  // program: what to run instead of greenev-launch (a program that calls greenev::launch()).
  Launch(std::vector<std::string> args, std::vector<std::string> env = {}, std::vector<std::string> prefix = {},
         std::string program = launcher_path()) {
    char tmpl[] = "/tmp/greenev-launch-test-XXXXXX";
    int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    log_path_ = tmpl;
    std::vector<std::string> all = prefix;
    all.push_back(program);
    for (auto& a : args) all.push_back(a);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::setsid();
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      for (auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      std::perror("exec");
      _exit(127);
    }
    ::close(fd);
  }
  ~Launch() {
    ::kill(-pid_, SIGKILL);
    if (!exited_) ::waitpid(pid_, nullptr, 0);
    if (::getenv("GREENEV_KEEP_LOGS") == nullptr) ::unlink(log_path_.c_str());
  }
  Launch(const Launch&) = delete;
  Launch& operator=(const Launch&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) { ::kill(pid_, sig); }

  std::string log() const {
    std::string s;
    FILE* f = std::fopen(log_path_.c_str(), "r");
    if (!f) return s;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    std::fclose(f);
    return s;
  }
  static int count(const std::string& hay, const std::string& needle) {
    int c = 0;
    for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++c;
    return c;
  }
  // Waits until the log holds `needle` at least `times` times.
  bool wait_log(const std::string& needle, double secs, int times = 1) const {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(secs);
    while (std::chrono::steady_clock::now() < end) {
      if (count(log(), needle) >= times) return true;
      nap(0.05);
    }
    return count(log(), needle) >= times;
  }
  // The exit status once the master ends within secs (128+signal when killed).
  std::optional<int> wait_exit(double secs) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(secs);
    for (;;) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      if (std::chrono::steady_clock::now() >= end) return std::nullopt;
      nap(0.05);
    }
  }
  // The port of the first "host:port" the master reported listening on.
  int port(double secs = 10) const {
    if (!wait_log("worker(s) ready", secs)) return -1;
    std::string l = log();
    auto p = l.find("worker(s) of ");
    if (p == std::string::npos) return -1;
    std::string line = l.substr(p, l.find('\n', p) - p);
    auto on = line.find(" on ");
    if (on == std::string::npos) return -1;
    std::string addr = line.substr(on + 4);
    addr = addr.substr(0, addr.find_first_of(", "));
    return std::atoi(addr.substr(addr.rfind(':') + 1).c_str());
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string log_path_;
};

inline CmdResult curl(const std::string& url, const std::string& extra = "") {
  return sh("curl -s -m 20 " + extra + " '" + url + "'");
}

// Pids of the workers the status command lists.
inline std::vector<int> worker_pids(const std::string& control) {
  std::vector<int> pids;
  auto r = sh(launcher_path() + " status -c " + control);
  std::size_t p = 0;
  while ((p = r.out.find('\n', p)) != std::string::npos) {
    ++p;
    int index, pid;
    char state[32];
    if (std::sscanf(r.out.c_str() + p, "%d %d %31s", &index, &pid, state) == 3 && std::string(state) == "running")
      pids.push_back(pid);
  }
  return pids;
}

}  // namespace test
