// runtime/launcher/system.hpp — the master's dealings with the OS around the workers: CPU count
// and pinning, credentials to drop to, the pid file, systemd notification, and the log.
//
// Everything here runs on the master's hub but must not yield into the thread pool (the master
// starts no thread before forking): file and passwd-database calls run with the libc patches off.
// sd_notify comes from libsystemd, loaded with dlopen only when NOTIFY_SOCKET is set, so neither
// the library nor its pkg-config/CMake package gain a link dependency for a feature most
// programs never use (rejected: linking -lsystemd into libgreenev).
#pragma once
#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace greenev::detail::launcher {

// The CPUs sched_getaffinity allows, in order.
std::vector<int> allowed_cpus();
// min(allowed CPUs, ceil(cgroup v2 cpu.max quota / period) along the cgroup path), at least 1.
int default_worker_count();

struct Credentials {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};
// Resolves a user and/or group name (or number). Throws std::runtime_error.
Credentials resolve_credentials(const std::string& user, const std::string& group);

class PidFile {
 public:
  PidFile() = default;
  ~PidFile();
  // Writes getpid(); throws if another live process holds the file.
  void acquire(const std::string& path);
  void release() noexcept;

 private:
  std::string path_;
};

class Notifier {
 public:
  // Reads NOTIFY_SOCKET / WATCHDOG_USEC (and unsets them so workers never talk to systemd).
  void init();
  bool enabled() const noexcept { return fn_ != nullptr; }
  void send(const std::string& state) noexcept;
  std::chrono::microseconds watchdog() const noexcept { return watchdog_; }

 private:
  using NotifyFn = int (*)(int, const char*);
  NotifyFn fn_ = nullptr;
  std::chrono::microseconds watchdog_{0};
};

// One line per event on stderr: "<tag>: master <pid>: ..." / "<tag>: worker <i> pid <p>: ...".
void log_set_tag(const std::string& tag);
[[gnu::format(printf, 1, 2)]] void mlog(const char* fmt, ...);
[[gnu::format(printf, 3, 4)]] void wlog(int index, pid_t pid, const char* fmt, ...);
// --log-file: opens path (append) onto fds 1 and 2; reopen returns the new fd (or -1).
void log_open_file(const std::string& path);
int log_reopen();

}  // namespace greenev::detail::launcher
