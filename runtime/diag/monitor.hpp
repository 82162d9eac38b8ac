// runtime/diag/monitor.hpp — building a blocked-hub report (shared by the monitor and fiber dumps).
//
// Two steps, because symbolizing can take long (the first lookup loads every object's debug
// information) and must not run while the hub registry is locked (hubs being created or
// destroyed would wait): capture_blocked_hub() under the registry mutex (a /proc read and one
// signal round trip), then finish_blocked_report() anywhere.
#pragma once
#include "diag/stack_capture.hpp"
#include "diag/syscalls.hpp"

#include <greenev/diagnostics.hpp>

namespace greenev::detail {

class Hub;

struct BlockedCapture {
  pid_t tid = 0;
  std::chrono::nanoseconds blocked_for{};
  SyscallState sc;
  std::string syscall_args_text;  // decoded now: fd targets may change later
  bool signalled = false;
  std::string skip_note;          // why the thread was not signalled
  RunningCapture running;
};

// h registered, the registry mutex held by the caller, which is not h's thread.
BlockedCapture capture_blocked_hub(Hub* h, std::chrono::nanoseconds blocked_for);
diag::BlockedReport finish_blocked_report(const BlockedCapture& c);

}  // namespace greenev::detail
