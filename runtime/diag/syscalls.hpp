// runtime/diag/syscalls.hpp — what a thread is doing in the kernel, from /proc/self/task/<tid>/syscall.
//
// The kernel reports "running", or "-1 sp pc" (blocked outside a system call, e.g. a page fault),
// or "nr a1 a2 a3 a4 a5 a6 sp pc". The name table covers x86-64's common blocking calls (the ones
// a stalled hub is found in); the rest print as syscall_<nr>. fd arguments are resolved through
// /proc/self/fd so the report says "pipe:[1234]" or the file's path.
// Rejected: parsing strace-style argument types for every call (hundreds of entries for calls a
// hub is never blocked in) and ptrace (a second process, and it stops the thread).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <sys/types.h>

namespace greenev::detail {

struct SyscallState {
  bool readable = false;    // /proc answered
  bool running = false;     // on a CPU, in user space
  bool in_syscall = false;  // nr/args valid
  long nr = -1;
  std::array<std::uint64_t, 6> args{};
  std::uint64_t sp = 0;
  std::uint64_t pc = 0;     // the user-space pc (the instruction after `syscall`)
};

SyscallState read_syscall(pid_t tid);

// "read", "wait4", ... or "syscall_<nr>".
std::string syscall_name(long nr);
// Decoded arguments: "fd=3 (pipe:[1234]), buf=0x7ffd..., count=16".
std::string syscall_args_text(long nr, const std::array<std::uint64_t, 6>& args);
// True for calls that a signal handler interrupts with EINTR whatever SA_RESTART says
// (signal(7)): the monitor does not signal a thread sitting in one.
bool syscall_breaks_on_signal(long nr, const std::array<std::uint64_t, 6>& args);

}  // namespace greenev::detail
