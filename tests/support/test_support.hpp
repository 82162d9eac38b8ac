// tests/support/test_support.hpp — helpers every test uses.
//
// require_hub_clean(): each test ends by checking its hub has no live fibers and no watchers.
// run_child(): runs a program from tests/progs and captures exit status, signal and output.
#pragma once
#include <doctest/doctest.h>
#include <greenev/greenev.hpp>

#include <chrono>
#include <string>
#include <vector>

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace test {

inline void require_hub_clean() {
  greenev::this_fiber::yield();  // let finished fibers retire
  auto s = greenev::hub_stats();
  CHECK_MESSAGE(s.fibers_alive == 0, "live fibers left: ", s.fibers_alive);
  CHECK_MESSAGE(s.active_watchers == 0, "active watchers left: ", s.active_watchers);
}

struct ChildResult {
  int exit_code = -1;  // valid when !signaled
  int signal = 0;      // the terminating signal, if any
  bool signaled = false;
  std::string out;     // stdout and stderr, interleaved
};

inline std::string prog_path(const std::string& name) { return std::string(GREENEV_PROGS_DIR) + "/" + name; }

// Runs tests/progs/<name> with args (and extra "K=V" environment entries), capturing output.
inline ChildResult run_child(const std::string& name, std::vector<std::string> args = {},
                             std::vector<std::string> env_extra = {}) {
  std::string path = prog_path(name);
  std::vector<char*> argv{path.data()};
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  auto key_of = [](const std::string& kv) { return kv.substr(0, kv.find('=') + 1); };
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    bool overridden = false;
    for (auto& x : env_extra) overridden |= key_of(x) == key_of(kv);
    if (!overridden) env_store.push_back(kv);
  }
  for (auto& e : env_extra) env_store.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  pid_t pid;
  int rc = posix_spawn(&pid, path.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  REQUIRE_MESSAGE(rc == 0, "cannot spawn ", path);
  ChildResult r;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) r.out.append(buf, static_cast<size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  ::close(fds[0]);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  if (WIFSIGNALED(st)) {
    r.signaled = true;
    r.signal = WTERMSIG(st);
  } else {
    r.exit_code = WEXITSTATUS(st);
  }
  return r;
}

// A fiber that counts a tick every `period` until stop(): proof that the hub kept running while
// another fiber was parked in something slow.
class Ticker {
 public:
  explicit Ticker(std::chrono::milliseconds period)
      : fiber_(greenev::spawn([this, period] {
          while (!stop_) {
            greenev::sleep(period);
            ++ticks_;
          }
        })) {}
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;
  ~Ticker() {
    if (!stop_) fiber_.kill();
  }
  int ticks() const noexcept { return ticks_; }
  void stop() {
    stop_ = true;
    fiber_.join();
  }

 private:
  int ticks_ = 0;
  bool stop_ = false;
  greenev::Fiber<void> fiber_;
};

inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace test
