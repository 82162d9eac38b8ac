// greenev/subprocess.hpp — child processes with cooperative waits (gevent.subprocess, Python's Popen).
//
// Spawned with posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK), never a copy of a big parent),
// which also reports exec failures (ENOENT, EACCES) as a std::system_error from the constructor.
// Each child is watched through its own pidfd (pidfd_open, Linux >= 5.3), polled by the hub like
// any fd; where pidfds are unavailable (or GREENEV_PIDFD=0) waits poll waitpid(WNOHANG) on a
// back-off timer (1 ms doubling to 50 ms). child_watch_method() says which is in use. There is no
// process-wide SIGCHLD handler: greenev reaps only the children it spawned, when asked to, so the
// application's own waitpid() never loses a status to greenev.
// Lifetime: the destructor never leaves a zombie. A child still running then is sent SIGKILL and
// reaped (like std::jthread's stop-and-join): wait() first for a child that should finish.
// Rejected: a SIGCHLD handler + waitpid(-1) reaper (libev's child watchers, gevent's default on
// POSIX): it steals statuses from every other waitpid caller in the process.
#pragma once
#include <greenev/detail/deadline.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace greenev {

// What one of the child's fds 0-2 is connected to.
struct Stdio {
  enum Kind : std::uint8_t { inherit_, pipe_, devnull_, fd_, stdout_ };
  Kind kind = inherit_;
  int fd = -1;
  static Stdio inherit() { return {}; }
  static Stdio pipe() { return {pipe_, -1}; }      // a pipe to this process: stdin_fd()/stdout_fd()/...
  static Stdio devnull() { return {devnull_, -1}; }
  static Stdio from_fd(int fd) { return {fd_, fd}; }  // an fd of this process (not closed by us)
  static Stdio to_stdout() { return {stdout_, -1}; }  // stderr only: same as the child's stdout
};

struct SubprocessOptions {
  std::vector<std::string> argv;                      // argv[0] is the program
  std::optional<std::vector<std::string>> env;        // "K=V" entries; nullopt: this process's environment
  std::string cwd;                                    // empty: this process's
  Stdio in, out, err;                                 // default: inherited
  std::vector<int> pass_fds;                          // kept open in the child under the same number
  bool close_fds = true;                              // close every other fd >= 3 in the child
  bool search_path = true;                            // argv[0] without '/' is looked up in PATH
  bool new_session = false;                           // setsid()
  bool new_process_group = false;                     // setpgid(0, 0)
};

// Python's TimeoutExpired: communicate() ran past its deadline. The child is still running and
// still owned by the Subprocess; what was read so far is kept here.
class GREENEV_API SubprocessTimeout : public std::runtime_error {
 public:
  SubprocessTimeout(std::string out, std::string err)
      : std::runtime_error("greenev: subprocess did not finish in time"), out(std::move(out)), err(std::move(err)) {}
  std::string out, err;
};

// check_output() saw a non-zero exit status or a signal; what() includes the child's stderr.
class GREENEV_API CalledProcessError : public std::runtime_error {
 public:
  CalledProcessError(std::string what, int returncode, std::string out, std::string err)
      : std::runtime_error(std::move(what)), returncode(returncode), out(std::move(out)), err(std::move(err)) {}
  int returncode;
  std::string out, err;
};

class GREENEV_API Subprocess {
 public:
  struct Output {
    std::string out, err;  // empty where not piped
    int returncode = 0;
  };

  explicit Subprocess(SubprocessOptions opts);
  explicit Subprocess(std::vector<std::string> argv);
  Subprocess(Subprocess&& o) noexcept;
  Subprocess& operator=(Subprocess&&) = delete;
  Subprocess(const Subprocess&) = delete;
  ~Subprocess();

  pid_t pid() const noexcept { return pid_; }
  // This side of the pipes (-1 where not piped or closed). Cooperative through the patched calls.
  int stdin_fd() const noexcept { return fds_[0]; }
  int stdout_fd() const noexcept { return fds_[1]; }
  int stderr_fd() const noexcept { return fds_[2]; }
  void close_stdin() noexcept;

  // The return code once reaped: the exit status, or -signal (Python's convention).
  std::optional<int> returncode() const noexcept { return rc_; }
  bool exited() const noexcept { return rc_ && *rc_ >= 0; }
  bool signaled() const noexcept { return rc_ && *rc_ < 0; }
  int exit_status() const noexcept { return rc_ && *rc_ >= 0 ? *rc_ : -1; }
  int term_signal() const noexcept { return rc_ && *rc_ < 0 ? -*rc_ : 0; }

  // Reaps if the child has exited, without waiting.
  std::optional<int> poll();
  // Waits for the child (parks the fiber; a Timeout scope or kill() raises as usual).
  int wait();
  template <class Rep, class Per>
  std::optional<int> wait(std::chrono::duration<Rep, Per> d) {
    return wait_until_ns(detail::deadline_after(d));
  }
  std::optional<int> wait_until_ns(detail::Deadline d);

  // Writes input to stdin (then closes it), reads stdout and stderr to EOF concurrently (no
  // deadlock however much each side writes), and waits for the exit. Throws SubprocessTimeout
  // past the deadline (the child keeps running; call kill()/wait() or communicate() again).
  Output communicate(std::string_view input = {});
  template <class Rep, class Per>
  Output communicate(std::string_view input, std::chrono::duration<Rep, Per> d) {
    return communicate_until_ns(input, detail::deadline_after(d));
  }
  Output communicate_until_ns(std::string_view input, detail::Deadline d);

  // Signals the child (no-op once reaped: the pid may belong to someone else by then; the
  // pidfd is used where available, so a signal can never reach a recycled pid).
  void send_signal(int sig);
  void terminate();  // SIGTERM
  void kill();       // SIGKILL

 private:
  void reaped(int status) noexcept;
  void close_fd(int i) noexcept;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int fds_[3] = {-1, -1, -1};
  std::optional<int> rc_;
  std::string pending_out_, pending_err_;  // communicate() output kept across a timeout
  std::size_t input_sent_ = 0;
};

// Runs argv, returns its stdout; throws CalledProcessError (stderr in the message) when it exits
// non-zero or is killed by a signal, SubprocessTimeout past the deadline (the child is killed).
GREENEV_API std::string check_output(std::vector<std::string> argv, std::string_view input = {});
GREENEV_API std::string check_output(SubprocessOptions opts, std::string_view input, detail::Deadline d);
// Runs argv with inherited stdio and returns its return code (Python's subprocess.call).
GREENEV_API int call(std::vector<std::string> argv);

// "pidfd" or "poll": how this process watches its children (see the top of this file).
GREENEV_API const char* child_watch_method() noexcept;

}  // namespace greenev
