// runtime/launcher/exec_spawn.cpp — the CLI's spawner: clone + execve of the worker program.
//
// Everything the child needs (argv, envp with a LISTEN_PID slot, the program path found on PATH
// now — so a reload picks up a binary replaced on disk) is built before clone; between clone and
// execve the child only makes async-signal-safe system calls: reset signal mask and dispositions,
// parent-death signal, fd moves, affinity, setgroups/setgid/setuid, and writing its own pid into
// the LISTEN_PID slot. clone(CLONE_PIDFD) hands the master a pidfd atomically (no pid-reuse window).
// fds land at 3.. in two steps — first above every target (F_DUPFD_CLOEXEC), then dup2 down —
// so a source that already sits on another's target number is never clobbered.
// Rejected: posix_spawn (LISTEN_PID must be the child's pid, known only in the child) and glibc's
// fork() (it runs atfork handlers, the greenev ones included, for a child that execs at once).
#include "launcher/exec_spawn.hpp"

#include <greenev/patches.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <sched.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <system_error>
#include <unistd.h>

extern char** environ;

namespace greenev::detail::launcher {

namespace {

bool is_stripped(const char* kv) {
  static const char* const kDrop[] = {"LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES=", "NOTIFY_SOCKET=", "WATCHDOG_USEC=",
                                      "WATCHDOG_PID=", "GREENEV_WORKER_INDEX=", "GREENEV_HEARTBEAT_FD="};
  for (const char* d : kDrop)
    if (std::strncmp(kv, d, std::strlen(d)) == 0) return true;
  return false;
}

void child_fail(const char* what, const char* path) {
  int e = errno;
  const char* desc = strerrordesc_np(e);
  const char* parts[] = {"greenev-launch: worker: ", what, " ", path, ": ", desc ? desc : "error", "\n"};
  for (const char* p : parts) {
    ssize_t n = ::write(2, p, std::strlen(p));
    (void)n;
  }
  _exit(127);
}

void write_pid(char* slot, pid_t pid) {
  char tmp[16];
  int i = 0;
  do {
    tmp[i++] = static_cast<char>('0' + pid % 10);
    pid /= 10;
  } while (pid);
  for (int j = 0; j < i; ++j) slot[j] = tmp[i - 1 - j];
  slot[i] = '\0';
}

}  // namespace

ExecSpawner::ExecSpawner(std::vector<std::string> argv) : argv_(std::move(argv)) {
  if (argv_.empty()) throw std::runtime_error("no program to run (usage: greenev-launch [options] -- program args...)");
  // Fail early (before any socket is handed out) for a program that cannot be found at all.
  resolve();
}

std::string ExecSpawner::resolve() const {
  const std::string& prog = argv_[0];
  patches::Disable real_calls;
  if (prog.find('/') != std::string::npos) {
    if (::access(prog.c_str(), X_OK) != 0) throw std::runtime_error("cannot execute " + prog + ": " + std::strerror(errno));
    return prog;
  }
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= p.size()) {
    auto colon = p.find(':', start);
    std::string dir = p.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string full = (dir.empty() ? "." : dir) + "/" + prog;
    struct stat st {};
    if (::stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(full.c_str(), X_OK) == 0) return full;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  throw std::runtime_error("program '" + prog + "' not found on PATH");
}

Spawned ExecSpawner::spawn(const SpawnRequest& req) {
  const std::string path = resolve();
  std::vector<char*> argv;
  for (auto& a : argv_) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  std::vector<std::string> extra;
  const int nfds = static_cast<int>(req.fds.size());
  if (nfds > 0) {
    extra.push_back("LISTEN_FDS=" + std::to_string(nfds));
    std::string names;
    for (auto& n : req.names) names += (names.empty() ? "" : ":") + n;
    extra.push_back("LISTEN_FDNAMES=" + names);
    extra.push_back("LISTEN_PID=" + std::string(16, '0'));  // overwritten by the child
  }
  extra.push_back("GREENEV_WORKER_INDEX=" + std::to_string(req.index));
  if (req.heartbeat_fd >= 0) extra.push_back("GREENEV_HEARTBEAT_FD=" + std::to_string(3 + nfds));
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e)
    if (!is_stripped(*e)) envp.push_back(*e);
  char* pid_slot = nullptr;
  for (auto& x : extra) {
    envp.push_back(x.data());
    if (x.rfind("LISTEN_PID=", 0) == 0) pid_slot = x.data() + std::strlen("LISTEN_PID=");
  }
  envp.push_back(nullptr);

  std::vector<int> sources(req.fds);
  if (req.heartbeat_fd >= 0) sources.push_back(req.heartbeat_fd);
  const int nsrc = static_cast<int>(sources.size());
  const pid_t master = ::getpid();
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (req.cpu >= 0) CPU_SET(req.cpu, &cpus);
  const Credentials* creds = req.creds;

  int pidfd = -1;
  long pid = ::syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, nullptr, &pidfd, nullptr, nullptr);
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "clone");
  if (pid == 0) {
    // Child: async-signal-safe calls only until execve.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig)
      if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != master) _exit(1);  // the master died before prctl: never serve unsupervised
    if (pid_slot) write_pid(pid_slot, static_cast<pid_t>(::syscall(SYS_getpid)));
    const int base = 3 + nsrc;
    int moved[1024];
    for (int i = 0; i < nsrc && i < 1024; ++i) {
      moved[i] = ::fcntl(sources[static_cast<std::size_t>(i)], F_DUPFD_CLOEXEC, base);
      if (moved[i] < 0) child_fail("cannot move fd for", path.c_str());
    }
    for (int i = 0; i < nsrc && i < 1024; ++i)
      if (::dup2(moved[i], 3 + i) < 0) child_fail("cannot place fd for", path.c_str());
    if (req.cpu >= 0) ::sched_setaffinity(0, sizeof cpus, &cpus);
    if (creds) {
      if (::setgroups(creds->groups.size(), creds->groups.data()) != 0) child_fail("setgroups failed for", path.c_str());
      if (::setgid(creds->gid) != 0) child_fail("setgid failed for", path.c_str());
      if (::setuid(creds->uid) != 0) child_fail("setuid failed for", path.c_str());
    }
    ::execve(path.c_str(), argv.data(), envp.data());
    child_fail("cannot execute", path.c_str());
  }
  return Spawned{static_cast<pid_t>(pid), pidfd};
}

std::string ExecSpawner::what() const {
  std::string s;
  for (auto& a : argv_) s += (s.empty() ? "" : " ") + a;
  return s;
}

}  // namespace greenev::detail::launcher
