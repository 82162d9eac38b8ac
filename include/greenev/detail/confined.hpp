// greenev/detail/confined.hpp — debug checks that hub-confined primitives stay on their thread.
//
// Event (unless cross_thread), Mutex, Queue and Fiber handles belong to one hub, i.e. one OS
// thread; using one from another thread is a data race the runtime cannot survive. With checks on
// — NDEBUG not defined, or GREENEV_CHECKS defined (CMake option GREENEV_CHECKS) — each of their
// operations checks the calling thread and aborts with one line naming the primitive, the
// operation and both threads (tid and name). A primitive belongs to the thread that first used it
// (Fiber: the thread of the hub it runs on). Off, the macros expand to nothing: release hot paths
// are untouched. The checks sit in the headers, so they follow the *user's* build flags.
// After fork() the forking thread's objects stay its own (the child's thread has a new tid).
// Rejected: checking inside the library's out-of-line code (it follows the library's flags, and
// the default RelWithDebInfo library would never check), and recording the owner at construction
// (an object built by one thread and handed to a hub thread before first use is legitimate).
#pragma once
#include <greenev/detail/config.hpp>
#include <greenev/detail/fiber_base.hpp>

namespace greenev::detail {
// Aborts unless the calling thread owns `l`'s primitive (recording it on first use).
GREENEV_API void check_confined(WaitList& l, const char* what) noexcept;
// Aborts unless the calling thread runs f's hub.
GREENEV_API void check_fiber_confined(const FiberBase* f, const char* what) noexcept;
}  // namespace greenev::detail

#if !defined(NDEBUG) || defined(GREENEV_CHECKS)
#define GREENEV_CHECK_CONFINED(list, what) ::greenev::detail::check_confined(list, what)
#define GREENEV_CHECK_FIBER_CONFINED(f, what) ::greenev::detail::check_fiber_confined(f, what)
#else
#define GREENEV_CHECK_CONFINED(list, what) ((void)0)
#define GREENEV_CHECK_FIBER_CONFINED(f, what) ((void)0)
#endif
