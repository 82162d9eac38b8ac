// runtime/diag/stack_capture.hpp — raw stacks of running and suspended fibers, and their symbols.
//
// Two ways to get a stack, both unwinding on the stack's own thread with Boost.Stacktrace's
// async-signal-safe safe_dump_to (libgcc's _Unwind_Backtrace; glibc 2.35+ makes its object lookup
// lock-free, so it is safe in a signal handler), into a preallocated buffer:
//   - the fiber running on another thread: a real-time signal to that thread (capture_running);
//   - a suspended fiber of the calling thread's hub: resume it with capture_stack_ set; it records
//     its stack inside its own context_switch and switches straight back, never woken (it stays
//     parked or ready; nothing else runs meanwhile) (capture_suspended).
// Symbolizing (allocating, reading debug info) happens afterwards on the requesting thread.
// Rejected: unwinding a suspended fiber from its saved registers (needs a second unwinder fed a
// synthetic context; libgcc offers no such entry point) and ptrace (needs a second process).
#pragma once
#include <greenev/detail/deadline.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace greenev::detail {

class Hub;
class FiberBase;

struct RawStack {
  static constexpr std::size_t kMax = 64;
  const void* frames[kMax + 1] = {};
  std::size_t n = 0;
};

// What the signal handler saw on the hub thread.
struct RunningCapture {
  RawStack stack;
  std::uint64_t fiber_id = 0;
  char fiber_name[64] = {};
  bool ok = false;
  std::string note;  // why ok is false
};

// Interrupts thread `tid` (which runs hub h) with the capture signal and waits up to `wait` for the
// handler. Serialized process-wide. Thread-safe; never call it for the calling thread.
RunningCapture capture_running(Hub* h, pid_t tid, std::chrono::milliseconds wait);

// The calling thread's own stack, starting at its caller.
void capture_here(RawStack& out) noexcept;

// A suspended (started, not running, not done) fiber of the calling thread's hub. False if the
// fiber has no stack to show (unstarted, done, or the caller itself).
bool capture_suspended(Hub& hub, FiberBase* target, RawStack& out) noexcept;

struct FrameInfo {
  const void* addr = nullptr;
  std::string function;  // demangled, or "??"
  std::string file;      // source file, or ""
  unsigned line = 0;
  std::string object;    // the shared object / executable path (dladdr)
  std::string text() const;
};

// Symbolizes raw frames (file:line needs -g) on the diagnostics' symbolizer thread: Boost's
// libbacktrace backend keeps one state per thread and its first lookup loads every object's debug
// information (about a second for a program with libc's debug symbols), so one long-lived thread
// pays that once. The caller waits (a fiber parks; the hub keeps running). Batch what you can.
std::vector<std::vector<FrameInfo>> symbolize_many(const std::vector<const RawStack*>& stacks);
std::vector<FrameInfo> symbolize(const RawStack& s);
// Starts the symbolizer thread and loads the debug information in the background.
void symbolizer_warm_up();

// Writes the calling thread's stack, symbolized on this thread, to fd as "<prefix>#i frame" lines,
// with the raw system call. For a process about to die only (the launcher's SIGABRT report): in a
// signal handler it allocates and reads debug information, which is not async-signal-safe, so the
// caller sends what it must first and relies on a later SIGKILL to bound a deadlock.
void write_backtrace_here(int fd, const char* prefix) noexcept;

// "#0 func at file:line (object)" lines.
std::vector<std::string> format_frames(const std::vector<FrameInfo>& frames);

}  // namespace greenev::detail
