// runtime/core/held_locks.hpp — how many thread-level locks (pthread mutexes and rwlocks) the code
// now running on this thread holds: the count behind the held-lock rule (docs/interrupts.md).
//
// One thread_local int, incremented and decremented by the interposed pthread lock calls
// (patches/pthread.cpp) and read by coop_hub() (runtime/io/io.hpp): a patched call made while it is
// non-zero runs in place, without yielding. It is per *fiber*: context_switch() keeps the leaving
// fiber's value on that fiber's own stack and restores it when the fiber resumes, and a fiber
// starts at 0. A lock taken on the thread before its hub existed belongs to the main fiber.
// Rejected: a field in the fiber control block (every lock would load the hub, then the running
// fiber: two dependent loads instead of one %fs-relative increment), and counting per thread only
// (a fiber that switches while holding a lock would make every other fiber's calls blocking and
// its unlock would be counted against whichever fiber ran it).
#pragma once

namespace greenev::detail {

extern constinit thread_local int t_held_locks __attribute__((tls_model("initial-exec")));

}  // namespace greenev::detail
