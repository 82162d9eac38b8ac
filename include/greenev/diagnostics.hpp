// greenev/diagnostics.hpp — why did my server stall: the blocked-hub monitor, fiber dumps with
// backtraces, and the patch self-test.
//
// Monitor: off by default (zero cost); GREENEV_MONITOR=100ms in the environment or start_monitor()
// starts one thread that checks every hub's loop stamp. A hub that has not come back to its loop
// for longer than the threshold while it has live fibers is reported once per episode: its thread,
// the running fiber's id, name and backtrace, how long, and — when the thread sits in the kernel —
// the system call with its arguments (from /proc/self/task/<tid>/syscall) and the shared object
// that made it. The backtrace is taken on the hub thread by a real-time signal (SIGRTMIN+4,
// SA_RESTART) and symbolized on the monitor thread; a thread in a call that a signal would break
// with EINTR whatever SA_RESTART says (nanosleep, epoll_wait, poll, msgrcv, ...) is not signalled,
// and its report says so.
//
// Fiber dumps: every fiber of every hub, suspended ones included, with state, wait reason, time in
// that state, spawn site and a symbolized backtrace (Boost.Stacktrace, libbacktrace backend: build
// with -g for file:line). A hub on another thread answers through its inbox; a hub that does not
// answer within a second (blocked) is reported as blocked, with its running fiber's backtrace.
// GREENEV_DUMP_SIGNAL=USR2 dumps to stderr on that signal.
#pragma once
#include <greenev/detail/config.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace greenev::diag {

struct BlockedReport {
  pid_t thread_id = 0;                    // the hub's thread (gettid)
  std::chrono::nanoseconds blocked_for{}; // since the hub last left its loop
  std::uint64_t fiber_id = 0;             // the fiber holding the hub (0: main)
  std::string fiber_name;                 // its name ("main", or "fiber-<id>" when unnamed)
  std::vector<std::string> backtrace;     // "#n function at file:line" lines; empty if not taken
  std::string backtrace_note;             // why the backtrace is missing, if it is
  bool in_syscall = false;                // the thread was inside a system call
  long syscall_nr = -1;
  std::string syscall_name;               // "read", "wait4", ... or "syscall_<nr>"
  std::array<std::uint64_t, 6> syscall_args{};
  std::string syscall_args_text;          // decoded: "fd=3 (pipe:[1234]), buf=0x..., count=16"
  std::string syscall_object;             // shared object holding the syscall instruction (libc)
  std::string caller_object;              // first object up the stack outside libc/greenev
  std::string caller_function;            // and the function there
  std::string text;                       // all of the above, formatted as printed on stderr
};

using BlockedCallback = std::function<void(const BlockedReport&)>;

// Starts (or reconfigures) the monitor. threshold >= 1 ms. Without a callback, reports go to
// stderr. The callback runs on the monitor thread. Survives fork() (restarted in the child).
GREENEV_API void start_monitor(std::chrono::milliseconds threshold = std::chrono::milliseconds(100),
                               BlockedCallback on_blocked = {});
GREENEV_API void stop_monitor();
GREENEV_API bool monitor_running() noexcept;

// The dump dump_fibers() prints: every hub, every fiber, with backtraces.
GREENEV_API std::string fiber_dump();
// Dumps to stderr whenever sig arrives (GREENEV_DUMP_SIGNAL=USR2 does this at start-up).
GREENEV_API void install_dump_signal(int sig);

}  // namespace greenev::diag

namespace greenev::patches {

// The patch self-test: which blocking libc calls each loaded object imports, patched or not.
struct ObjectReport {
  std::string path;                    // "" for the main program is replaced by its /proc path
  std::vector<std::string> patched;    // imports greenev patches (they yield inside fibers)
  std::vector<std::string> unpatched;  // blocking imports greenev does not patch (they block the hub)
};

struct Report {
  std::vector<std::string> patched_symbols;  // every symbol greenev interposes (from the build)
  std::vector<std::string> not_winning;      // patched symbols a library call would not reach
  std::string greenev_object;                // where greenev's definitions live
  std::vector<ObjectReport> objects;         // every loaded object with blocking imports
  GREENEV_API std::string text() const;      // human-readable, as GREENEV_PATCH_REPORT=1 prints
};

// Inspects the process now (dl_iterate_phdr over the loaded objects' dynamic imports).
GREENEV_API Report report();

}  // namespace greenev::patches
