// greenev/patches.hpp — switching the patched libc calls on and off.
//
// Linking greenev (shared or static) interposes the blocking libc calls (read, write, connect,
// poll, sleep, ... see patches/). Inside a fiber they yield instead of blocking; anywhere else
// (a thread without a hub, the hub's own loop callbacks) they are the real calls. Patching is on by
// default; GREENEV_PATCHES=0 in the environment turns it off for the whole process at start-up,
// set_enabled() at run time (process-wide), and a Disable guard for the calls made by the current
// thread while it lives (meant for one call site: the guard should not span a greenev suspension
// point, since other fibers of the thread would run with patching off meanwhile).
//
// Patched calls never throw. A kill() reaching a fiber inside one makes it return -1/ECANCELED, an
// expired Timeout scope -1/ETIMEDOUT (clock_nanosleep returns those numbers); the FiberExit or
// TimeoutError is then raised at the fiber's next greenev suspension point. ECANCELED rather than
// EINTR: C libraries retry EINTR in a loop, and a pending kill would make that loop spin.
#pragma once
#include <greenev/detail/config.hpp>

namespace greenev::patches {

GREENEV_API bool enabled() noexcept;
GREENEV_API void set_enabled(bool on) noexcept;

// Regular files and block devices cannot be polled, so inside a fiber their calls (read, write,
// pread, pwrite, readv, writev, preadv, pwritev, fsync, fdatasync) run on the thread pool while the
// hub runs other fibers (patches/file.cpp). On by default: a cold cache or a slow disk must not
// stall every fiber of the hub. Each call then pays a pool round trip (microseconds), more than a
// page-cache hit costs: GREENEV_FILE_THREADPOOL=0 at start-up, or set_file_threadpool(false), makes
// file calls run in place on the hub thread. Such calls always complete: a Timeout or kill()
// arriving meanwhile is raised at the next suspension point (the call may be using its buffer).
GREENEV_API bool file_threadpool() noexcept;
GREENEV_API void set_file_threadpool(bool on) noexcept;

// read() and pread() on a regular file first try preadv2(RWF_NOWAIT) on the hub: page-cache hits
// are served in place (no pool round trip); EAGAIN (not cached) goes to the pool, a short read
// fetches the rest on the pool (the caller still sees one whole read), and a file system that
// refuses the flag (EOPNOTSUPP) is remembered per descriptor and goes straight to the pool.
// Counters of the calling thread, for tests and diagnostics:
struct FileStats {
  unsigned long long nowait_hits = 0;      // served whole in place
  unsigned long long nowait_partial = 0;   // in place in part, the rest on the pool
  unsigned long long nowait_misses = 0;    // EAGAIN: on the pool
  unsigned long long nowait_refused = 0;   // EOPNOTSUPP seen (then remembered for the fd)
  unsigned long long pool_calls = 0;       // file calls that ran on the thread pool
};
GREENEV_API FileStats file_stats() noexcept;

class GREENEV_API Disable {
 public:
  Disable() noexcept;
  ~Disable();
  Disable(const Disable&) = delete;
  Disable& operator=(const Disable&) = delete;
};

}  // namespace greenev::patches
