// greenev/fork.hpp — fork() from a fiber, and the registry of after-fork hooks.
//
// fork() (the patched libc symbol and greenev::fork()) keeps the process usable on both sides:
// in the child the forking thread's hub gets a fresh loop backend (ev_loop_fork), the thread pool
// forgets the parent's workers (new ones start on demand, so DNS and file I/O work at once), and
// ONLY THE CALLING FIBER continues, on its own stack, with the same hub. Every other fiber of that
// hub (the main fiber too, when the caller is not main) is finished without running: never resumed,
// not unwound (destructors of objects on its stack never run, locks it held stay held, FLS values
// are not destroyed), its stack pages left mapped (shared copy-on-write with the parent, so free).
// join() on such a fiber throws std::system_error(ECANCELED); Groups and link() see it finish.
// When the calling fiber is not main and returns in the child, the child exits (status 0, or 1
// after reporting an escaped exception), as a process ends when its last thread returns.
// The parent continues unaffected. Details and the rules: docs/process.md.
// Rejected: letting the parent's fibers run on in the child (gevent's behaviour: a copied accept
// loop or ticker doing the parent's work twice is the classic fork bug) and running the child on
// a brand-new hub in the main fiber (the caller's stack, which holds the code after fork(), is the
// only one that can continue).
#pragma once
#include <greenev/detail/config.hpp>

#include <cstdint>
#include <functional>
#include <sys/types.h>

namespace greenev {

// Forks. Returns the child's pid in the parent and 0 in the child; throws std::system_error when
// the kernel refuses (EAGAIN, ENOMEM). Same as the patched ::fork() otherwise.
GREENEV_API pid_t fork();

// Where a hook runs relative to the others. prepare hooks run from high to low order (upper
// layers let go of their state first), parent and child hooks from low to high (the loop first,
// then the thread pool, then what is built on them), as pthread_atfork orders a library stack.
namespace fork_order {
inline constexpr int hub = 0;          // the loop and the fibers (runtime/core)
inline constexpr int threadpool = 10;  // workers, queues, completion ports
inline constexpr int process = 20;     // subprocess bookkeeping (pidfds)
inline constexpr int launcher = 40;
inline constexpr int diagnostics = 50;  // monitors, metrics
inline constexpr int user = 100;        // the default for applications
}  // namespace fork_order

struct ForkHooks {
  std::function<void()> prepare;  // in the parent, before the fork (may take locks)
  std::function<void()> parent;   // in the parent, after (also when fork failed)
  std::function<void()> child;    // in the child, single-threaded, after the hub reset
  int order = fork_order::user;
};

// Registers hooks for every later fork() (ours, the patched one, and glibc's fork reached by other
// paths: the registry is also installed with pthread_atfork). Hooks must not throw (an exception
// is reported and dropped), must not fork, and must not add or remove hooks. Equal orders run in
// registration order. Returns an id for remove_fork_hooks. Thread-safe.
GREENEV_API std::uint64_t add_fork_hooks(ForkHooks hooks);
// Unregisters; false if the id is unknown. Thread-safe; waits for a fork in progress.
GREENEV_API bool remove_fork_hooks(std::uint64_t id);

// How many forks this process has gone through as a child of (0 in the original process); a
// cheap way for a layer to notice "my state came from a parent" without a hook.
GREENEV_API std::uint64_t fork_generation() noexcept;

}  // namespace greenev
