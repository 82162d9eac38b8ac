// runtime/launcher/heartbeat.hpp — the master <-> worker channel (one SOCK_SEQPACKET socketpair
// per worker) and the worker-side responder.
//
// Every message is one fixed-size HbMsg (seqpacket keeps boundaries, so no framing code). The
// master pings; the worker's *hub* answers from a libev callback, so a fiber that spins without
// yielding leaves the ping unanswered: that is exactly the hang the heartbeat detects. The worker
// greets with `hello` (its hub thread's tid, for tgkill) as soon as its hub exists; a hang report
// (`abort_report`, written by the worker's SIGABRT handler) names the fiber that was running.
// Exec'd programs find their end in GREENEV_HEARTBEAT_FD; the responder starts with the first hub
// of the process when that variable names a seqpacket socket (and unsets it, so grandchildren
// never pick up a stale number). Rejected: a text protocol over a stream socket (framing and
// partial reads in a signal handler) and a shared-memory counter (no way to learn *which* fiber).
#pragma once
#include <cstddef>
#include <cstdint>

namespace greenev::detail::launcher {

enum class HbType : std::uint32_t {
  ping = 1,          // master -> worker
  reopen_log = 2,    // master -> worker, carries an fd (SCM_RIGHTS) to dup2 onto 1 and 2
  hello = 10,        // worker -> master, once, when its hub starts
  pong = 11,         // worker -> master, answer to ping (seq echoed) with counters
  abort_report = 12, // worker -> master, from the SIGABRT handler: text names the running fiber
};

struct HbMsg {
  HbType type;
  std::uint32_t seq;
  std::int32_t pid;
  std::int32_t tid;          // the hub thread (tgkill target for SIGABRT)
  std::uint64_t fibers;      // fibers alive on the hub
  std::uint64_t rss_kb;
  std::int64_t connections;  // worker_note_connection() sum
  std::uint64_t requests;    // worker_note_request() count
  char text[432];            // abort_report: NUL-terminated
};
static_assert(sizeof(HbMsg) == 480, "HbMsg is a fixed wire format between master and worker");

// Starts the responder on the calling thread's hub for `fd` (the library's forked workers call
// this directly; exec'd workers get it from the hub-created hook). Idempotent per process.
void heartbeat_start(int fd) noexcept;

// Listening sockets inherited from a launcher share one open file description with the sibling
// workers, one of which may already have forced O_NONBLOCK on it: records them as blocking for
// this process's user code (the real fds stay non-blocking). Call on the worker's hub thread.
void adopt_blocking_listeners(const int* fds, std::size_t n) noexcept;

}  // namespace greenev::detail::launcher
