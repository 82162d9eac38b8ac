// runtime/process/child_watch.hpp — waiting for a child without a SIGCHLD reaper.
//
// coop_wait4() is the one wait loop behind Subprocess, the patched waitpid/wait/wait3/wait4/waitid,
// system() and pclose(): try the real wait4(WNOHANG) first (never wait before trying); if the child
// has not changed state, park on its pidfd (a specific pid, exit-only options) or, for waitpid(-1),
// process groups, WUNTRACED/WCONTINUED, or kernels without pidfd_open, sleep on a back-off timer
// (1 ms doubling to 50 ms) and try again. Only the caller's own wait reaps, so nothing is stolen.
// The real calls are raw syscalls: the patched symbols would recurse.
#pragma once
#include "core/hub.hpp"

#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

namespace greenev::detail {

// pidfd_open(2) with O_CLOEXEC, or -1 with errno (ENOSYS where unsupported or switched off).
int open_pidfd(pid_t pid) noexcept;
bool pidfd_available() noexcept;  // probed once; GREENEV_PIDFD=0 forces the polling fallback
// Closes an fd this layer opened (tells the fd table and the hub's watchers first).
void close_owned_fd(int fd) noexcept;

pid_t sys_wait4(pid_t pid, int* status, int options, struct rusage* ru) noexcept;
int sys_waitid(idtype_t type, id_t id, siginfo_t* info, int options) noexcept;

// As wait4(pid, status, options, ru), cooperative. pidfd: one the caller owns for pid, or -1.
// Returns 0 when the deadline passes (as WNOHANG would), -1 with errno ETIMEDOUT (Timeout scope)
// or ECANCELED (kill) when interrupted, as every patched call does.
pid_t coop_wait4(Hub& h, pid_t pid, int* status, int options, struct rusage* ru, Deadline deadline,
                 int pidfd = -1) noexcept;

// As waitid(), cooperative (same conventions; returns 0 with info->si_pid == 0 past the deadline).
int coop_waitid(Hub& h, idtype_t type, id_t id, siginfo_t* info, int options, Deadline deadline) noexcept;

}  // namespace greenev::detail
