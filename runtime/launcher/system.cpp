// runtime/launcher/system.cpp — CPUs, credentials, pid file, sd_notify, log (system.hpp).
#include "launcher/system.hpp"

#include <greenev/patches.hpp>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <fstream>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdexcept>
#include <unistd.h>

namespace greenev::detail::launcher {

std::vector<int> allowed_cpus() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int i = 0; i < CPU_SETSIZE; ++i)
      if (CPU_ISSET(i, &set)) out.push_back(i);
  }
  if (out.empty()) out.push_back(0);
  return out;
}

int default_worker_count() {
  patches::Disable real_calls;
  int n = static_cast<int>(allowed_cpus().size());
  // cgroup v2: "0::/path" in /proc/self/cgroup; every cpu.max from there up to the root limits.
  std::ifstream cg("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(cg, line))
    if (line.rfind("0::", 0) == 0) path = line.substr(3);
  if (!path.empty()) {
    for (;;) {
      std::ifstream f("/sys/fs/cgroup" + (path == "/" ? std::string() : path) + "/cpu.max");
      std::string quota;
      long period = 0;
      if (f >> quota >> period && quota != "max" && period > 0) {
        long q = std::strtol(quota.c_str(), nullptr, 10);
        int cpus = static_cast<int>(std::ceil(static_cast<double>(q) / static_cast<double>(period)));
        if (cpus >= 1 && cpus < n) n = cpus;
      }
      if (path == "/" || path.empty()) break;
      auto slash = path.rfind('/');
      path = slash == 0 ? "/" : path.substr(0, slash);
    }
  }
  return n < 1 ? 1 : n;
}

Credentials resolve_credentials(const std::string& user, const std::string& group) {
  patches::Disable real_calls;  // getpwnam reads files: no thread pool in the master
  Credentials c;
  c.uid = ::getuid();
  c.gid = ::getgid();
  if (!user.empty()) {
    passwd* pw = ::getpwnam(user.c_str());
    if (!pw) {
      char* end = nullptr;
      long uid = std::strtol(user.c_str(), &end, 10);
      if (*end != '\0' || !(pw = ::getpwuid(static_cast<uid_t>(uid))))
        throw std::runtime_error("unknown user '" + user + "'");
    }
    c.user = pw->pw_name;
    c.uid = pw->pw_uid;
    c.gid = pw->pw_gid;
    int ng = 64;
    std::vector<gid_t> groups(static_cast<std::size_t>(ng));
    if (::getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &ng) < 0) {
      groups.resize(static_cast<std::size_t>(ng));
      ::getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &ng);
    }
    groups.resize(static_cast<std::size_t>(ng));
    c.groups = groups;
  }
  if (!group.empty()) {
    struct group* gr = ::getgrnam(group.c_str());
    if (!gr) {
      char* end = nullptr;
      long gid = std::strtol(group.c_str(), &end, 10);
      if (*end != '\0' || !(gr = ::getgrgid(static_cast<gid_t>(gid))))
        throw std::runtime_error("unknown group '" + group + "'");
    }
    c.gid = gr->gr_gid;
    if (user.empty()) c.groups = {c.gid};
  }
  if (c.groups.empty()) c.groups = {c.gid};
  if (::geteuid() != 0 && (c.uid != ::geteuid() || c.gid != ::getegid()))
    throw std::runtime_error("--user/--group need root (running as uid " + std::to_string(::geteuid()) + ")");
  return c;
}

PidFile::~PidFile() { release(); }

void PidFile::acquire(const std::string& path) {
  patches::Disable real_calls;
  {
    std::ifstream in(path);
    long old = 0;
    if (in >> old && old > 0 && old != ::getpid() && (::kill(static_cast<pid_t>(old), 0) == 0 || errno == EPERM))
      throw std::runtime_error("pid file " + path + " names a live process (" + std::to_string(old) + ")");
  }
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot write pid file " + path + ": " + std::strerror(errno));
  std::string s = std::to_string(::getpid()) + "\n";
  ssize_t n = ::write(fd, s.data(), s.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(s.size()) || ::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot write pid file " + path + ": " + std::strerror(errno));
  path_ = path;
}

void PidFile::release() noexcept {
  if (path_.empty()) return;
  patches::Disable real_calls;
  ::unlink(path_.c_str());
  path_.clear();
}

void Notifier::init() {
  const char* sock = std::getenv("NOTIFY_SOCKET");
  const char* wd = std::getenv("WATCHDOG_USEC");
  const char* wd_pid = std::getenv("WATCHDOG_PID");
  if (wd && (!wd_pid || std::strtol(wd_pid, nullptr, 10) == ::getpid()))
    watchdog_ = std::chrono::microseconds(std::strtoll(wd, nullptr, 10));
  if (sock && *sock) {
    patches::Disable real_calls;
    void* lib = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (lib) fn_ = reinterpret_cast<NotifyFn>(::dlsym(lib, "sd_notify"));
    if (!fn_) mlog("NOTIFY_SOCKET is set but libsystemd.so.0 cannot be loaded (%s): no readiness notification", ::dlerror());
  }
  // sd_notify(0, ...) keeps the variables for us; workers must never see them.
  if (!fn_) ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

void Notifier::send(const std::string& state) noexcept {
  if (!fn_) return;
  patches::Disable real_calls;
  fn_(0, state.c_str());
}

namespace {
std::string g_tag = "greenev";
std::string g_log_path;

void vlog(const char* prefix, const char* fmt, va_list ap) {
  char msg[1024];
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  char line[1200];
  int n = std::snprintf(line, sizeof line, "%s: %s%s\n", g_tag.c_str(), prefix, msg);
  if (n > static_cast<int>(sizeof line) - 1) {
    n = sizeof line - 1;
    line[n - 1] = '\n';
  }
  patches::Disable real_calls;  // stderr may be a file: never through the thread pool here
  ssize_t w = ::write(2, line, static_cast<std::size_t>(n));
  (void)w;
}
}  // namespace

void log_set_tag(const std::string& tag) { g_tag = tag; }

void mlog(const char* fmt, ...) {
  char prefix[64];
  std::snprintf(prefix, sizeof prefix, "master %d: ", static_cast<int>(::getpid()));
  va_list ap;
  va_start(ap, fmt);
  vlog(prefix, fmt, ap);
  va_end(ap);
}

void wlog(int index, pid_t pid, const char* fmt, ...) {
  char prefix[64];
  std::snprintf(prefix, sizeof prefix, "worker %d pid %d: ", index, static_cast<int>(pid));
  va_list ap;
  va_start(ap, fmt);
  vlog(prefix, fmt, ap);
  va_end(ap);
}

void log_open_file(const std::string& path) {
  g_log_path = path;
  int fd = log_reopen();
  if (fd < 0) throw std::runtime_error("cannot open log file " + path + ": " + std::strerror(errno));
  ::close(fd);
}

int log_reopen() {
  if (g_log_path.empty()) return -1;
  patches::Disable real_calls;
  int fd = ::open(g_log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  ::dup2(fd, 1);
  ::dup2(fd, 2);
  return fd;
}

}  // namespace greenev::detail::launcher
