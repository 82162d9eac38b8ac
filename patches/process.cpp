// patches/process.cpp — fork, the wait family and system().
//
// fork (+ __fork): runs the after-fork registry around the real fork (runtime/process/fork.cpp):
// in the child the hub gets a fresh loop backend, the thread pool fresh workers, and only the
// calling fiber continues (greenev/fork.hpp). Outside any hub it is the same call with the hooks.
// Yield (inside a fiber, patching on, no WNOHANG): waitpid (+ __waitpid), wait, wait3, wait4, waitid
// through coop_wait4/coop_waitid (runtime/process/child_watch.hpp): a specific pid (P_PID, P_PIDFD)
// parks on a pidfd; any child (-1, P_ALL), a process group (0, < -1, P_PGID) or stop/continue
// reports poll WNOHANG on a back-off timer (1 ms doubling to 50 ms), since no fd tells when "any
// child" changed state without a SIGCHLD handler, which would steal statuses. Only the caller's
// own call reaps, so results are never taken from the application. A Timeout or kill() makes them
// return -1 with ETIMEDOUT / ECANCELED (the child is left alone).
// system(): /bin/sh -c through posix_spawn and a cooperative wait. A Timeout or kill() SIGKILLs
// the shell (nobody could reap it otherwise) and returns -1 with ETIMEDOUT / ECANCELED. Unlike
// glibc, SIGINT and SIGQUIT are not ignored in the caller while it waits: other fibers still run,
// and the process must stay interruptible for them.
// Pass through: everything outside fibers, WNOHANG waits, system(NULL), vfork, _Fork, clone.
#include "patch.hpp"

#include "process/child_watch.hpp"
#include "process/fork.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <spawn.h>
#include <sys/wait.h>

using namespace greenev::detail;

extern char** environ;

GREENEV_PATCH_ANCHOR(process);

GREENEV_PATCH pid_t fork(void) noexcept { return fork_with_hooks(); }
GREENEV_PATCH_ALIAS(__fork, fork, pid_t __fork(void) noexcept);

GREENEV_PATCH pid_t wait4(pid_t pid, int* status, int options, struct rusage* ru) noexcept {
  Hub* h = coop_hub();
  if (!h || (options & WNOHANG)) return sys_wait4(pid, status, options, ru);
  return coop_wait4(*h, pid, status, options, ru, kForever);
}

GREENEV_PATCH pid_t waitpid(pid_t pid, int* status, int options) noexcept { return wait4(pid, status, options, nullptr); }
GREENEV_PATCH_ALIAS(__waitpid, waitpid, pid_t __waitpid(pid_t, int*, int) noexcept);

GREENEV_PATCH pid_t wait(int* status) noexcept { return wait4(-1, status, 0, nullptr); }

GREENEV_PATCH pid_t wait3(int* status, int options, struct rusage* ru) noexcept { return wait4(-1, status, options, ru); }

GREENEV_PATCH int waitid(idtype_t type, id_t id, siginfo_t* info, int options) noexcept {
  Hub* h = coop_hub();
  if (!h || (options & WNOHANG)) return sys_waitid(type, id, info, options);
  return coop_waitid(*h, type, id, info, options, kForever);
}

namespace {

using SystemFn = int (*)(const char*);
SystemFn real_system() noexcept {
  static const SystemFn f = reinterpret_cast<SystemFn>(dlsym(RTLD_NEXT, "system"));
  return f;
}

}  // namespace

GREENEV_PATCH int system(const char* cmd) {
  Hub* h = coop_hub();
  if (!h || !cmd) return real_system()(cmd);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGQUIT);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  char sh[] = "sh", dash_c[] = "-c";
  char* argv[] = {sh, dash_c, const_cast<char*>(cmd), nullptr};
  pid_t pid;
  const int rc = posix_spawn(&pid, "/bin/sh", nullptr, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return W_EXITCODE(127, 0);  // as glibc: the shell could not run
  int st = 0;
  const pid_t r = coop_wait4(*h, pid, &st, 0, nullptr, kForever);
  if (r == pid) return st;
  const int e = errno;
  if (e == ETIMEDOUT || e == ECANCELED) {
    ::kill(pid, SIGKILL);
    while (sys_wait4(pid, &st, 0, nullptr) < 0 && errno == EINTR) {}
  }
  errno = e;
  return -1;
}
