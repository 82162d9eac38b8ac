// runtime/threadpool/threadpool_port.hpp — a hub's completion port: how thread-pool results get home.
//
// One port per hub thread, created by the first run_blocking there. Workers push finished jobs on
// its lock-free list (a Treiber stack: one CAS) and only the push that finds the list empty sends
// the hub's ev_async; the hub thread drains the whole list in one callback, in FIFO order, and
// unparks each waiter that has not given up. The port is reference counted (the thread, plus one
// per job in flight) so a worker finishing after the thread exited touches live memory; a closed
// port (thread gone) has its late arrivals dropped by the worker that pushes them.
// Implemented in runtime/threadpool/hub_threadpool.cpp: it is the only threadpool file that includes <ev.h>.
#pragma once
#include <greenev/threadpool.hpp>

namespace greenev::detail {

// The calling thread's port (created, and its hub with it, on first use), with one reference
// for the caller.
CompletionPort* completion_port_acquire();
void completion_port_release(CompletionPort* p) noexcept;

// Any thread: queues job (taking over one reference to it) for its waiter's hub and wakes it.
void completion_port_post(CompletionPort* p, BlockingJob* job) noexcept;

// The calling thread's port, or null (no reference taken; for the fork-child handler).
CompletionPort* completion_port_current() noexcept;

}  // namespace greenev::detail
