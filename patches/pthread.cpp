// patches/pthread.cpp — the held-lock rule: count the thread-level locks the running fiber holds.
//
// Counted, never yield: pthread_mutex_lock, _trylock, _timedlock, _clocklock, _unlock;
// pthread_rwlock_rdlock, _wrlock, _tryrdlock, _trywrlock, _timedrdlock, _timedwrlock, _clockrdlock,
// _clockwrlock, _unlock. Each calls the real function and, when it acquired (0, or EOWNERDEAD for a
// robust mutex) or released (0) a lock, adjusts t_held_locks (runtime/core/held_locks.hpp). While
// that count is non-zero, coop_hub() returns null, so every patched call runs in place without
// yielding: a C library that holds its own lock across I/O (SQLite's connection mutex, a user's
// std::mutex around a socket read) relies on no other code running on the thread meanwhile.
// What is counted: every call that reaches these symbols through the dynamic linker — std::mutex,
// std::recursive_mutex, std::timed_mutex (clocklock), std::shared_mutex (rwlock) from inline code in
// the application, and every shared library (libsqlite3, libcrypto...). greenev's own internal
// mutexes are counted too; none is ever held across a patched call or a fiber switch, so they never
// change what a patched call does. Not counted: locks glibc takes internally (stdio, malloc: direct
// calls), C11 mtx_lock (glibc calls its internal entry), spinlocks, and futexes used directly.
// pthread_cond_wait needs no patch: it releases and re-acquires inside glibc, so the caller holds
// the mutex before and after and the count is right throughout.
// The real functions come from dlsym(RTLD_NEXT) (under ASan/TSan: the sanitizer's interceptor
// calls us, we call glibc). Rejected: binding glibc's compat `__pthread_mutex_lock@GLIBC_2.2.5` at
// link time with .symver — ASan defines an interceptor of that name whose real pointer is null.
#include "patch.hpp"

#include "core/held_locks.hpp"

#include <greenev/patches.hpp>

#include <pthread.h>

#include <atomic>
#include <cstdlib>
#include <dlfcn.h>
#include <unistd.h>

using namespace greenev::detail;

GREENEV_PATCH_ANCHOR(pthread);

namespace greenev::detail {
constinit thread_local int t_held_locks __attribute__((tls_model("initial-exec"))) = 0;
}

namespace {

inline int acquired(int r) noexcept {
  if (__builtin_expect(r == 0 || r == EOWNERDEAD, 1)) ++t_held_locks;
  return r;
}

inline int released(int r) noexcept {
  // An unlock from a fiber that did not take the lock (legal for some mutex kinds) must not make
  // its own count negative; the taker's count then stays raised (docs/interrupts.md).
  if (__builtin_expect(r == 0 && t_held_locks > 0, 1)) --t_held_locks;
  return r;
}

using MutexFn = int (*)(pthread_mutex_t*);
using MutexTimed = int (*)(pthread_mutex_t*, const struct timespec*);
using MutexClock = int (*)(pthread_mutex_t*, clockid_t, const struct timespec*);
using RwFn = int (*)(pthread_rwlock_t*);
using RwTimed = int (*)(pthread_rwlock_t*, const struct timespec*);
using RwClock = int (*)(pthread_rwlock_t*, clockid_t, const struct timespec*);

// One slot per real function: resolved by the load-time constructor below, or by the first call if
// one comes first (idempotent: racing threads store the same pointer). Not a function-local
// static: its guard could take a lock, i.e. call back into these functions.
#define GREENEV_PTHREAD_FNS(X)                                                                    \
  X(pthread_mutex_lock, MutexFn) X(pthread_mutex_trylock, MutexFn) X(pthread_mutex_unlock, MutexFn) \
  X(pthread_mutex_timedlock, MutexTimed) X(pthread_mutex_clocklock, MutexClock)                    \
  X(pthread_rwlock_rdlock, RwFn) X(pthread_rwlock_wrlock, RwFn) X(pthread_rwlock_tryrdlock, RwFn)  \
  X(pthread_rwlock_trywrlock, RwFn) X(pthread_rwlock_unlock, RwFn)                                 \
  X(pthread_rwlock_timedrdlock, RwTimed) X(pthread_rwlock_timedwrlock, RwTimed)                    \
  X(pthread_rwlock_clockrdlock, RwClock) X(pthread_rwlock_clockwrlock, RwClock)

#define GREENEV_X(name, type)                                                       \
  std::atomic<type> g_##name{nullptr};                                              \
  type real_##name() noexcept {                                                     \
    type f = g_##name.load(std::memory_order_relaxed);                              \
    if (__builtin_expect(f == nullptr, 0)) {                                        \
      f = reinterpret_cast<type>(dlsym(RTLD_NEXT, #name));                          \
      if (!f) {                                                                     \
        static const char msg[] = "greenev: cannot resolve the real " #name "\n";   \
        (void)!::write(2, msg, sizeof msg - 1);                                     \
        std::abort();                                                               \
      }                                                                             \
      g_##name.store(f, std::memory_order_relaxed);                                 \
    }                                                                               \
    return f;                                                                       \
  }
GREENEV_PTHREAD_FNS(GREENEV_X)
#undef GREENEV_X

__attribute__((constructor(101))) void pthread_load() {
#define GREENEV_X(name, type) (void)real_##name();
  GREENEV_PTHREAD_FNS(GREENEV_X)
#undef GREENEV_X
}

}  // namespace

GREENEV_PATCH int pthread_mutex_lock(pthread_mutex_t* m) { return acquired(real_pthread_mutex_lock()(m)); }
GREENEV_PATCH int pthread_mutex_trylock(pthread_mutex_t* m) { return acquired(real_pthread_mutex_trylock()(m)); }
GREENEV_PATCH int pthread_mutex_unlock(pthread_mutex_t* m) { return released(real_pthread_mutex_unlock()(m)); }
GREENEV_PATCH int pthread_mutex_timedlock(pthread_mutex_t* m, const struct timespec* t) {
  return acquired(real_pthread_mutex_timedlock()(m, t));
}
GREENEV_PATCH int pthread_mutex_clocklock(pthread_mutex_t* m, clockid_t c, const struct timespec* t) {
  return acquired(real_pthread_mutex_clocklock()(m, c, t));
}

GREENEV_PATCH int pthread_rwlock_rdlock(pthread_rwlock_t* l) { return acquired(real_pthread_rwlock_rdlock()(l)); }
GREENEV_PATCH int pthread_rwlock_wrlock(pthread_rwlock_t* l) { return acquired(real_pthread_rwlock_wrlock()(l)); }
GREENEV_PATCH int pthread_rwlock_tryrdlock(pthread_rwlock_t* l) { return acquired(real_pthread_rwlock_tryrdlock()(l)); }
GREENEV_PATCH int pthread_rwlock_trywrlock(pthread_rwlock_t* l) { return acquired(real_pthread_rwlock_trywrlock()(l)); }
GREENEV_PATCH int pthread_rwlock_unlock(pthread_rwlock_t* l) { return released(real_pthread_rwlock_unlock()(l)); }
GREENEV_PATCH int pthread_rwlock_timedrdlock(pthread_rwlock_t* l, const struct timespec* t) {
  return acquired(real_pthread_rwlock_timedrdlock()(l, t));
}
GREENEV_PATCH int pthread_rwlock_timedwrlock(pthread_rwlock_t* l, const struct timespec* t) {
  return acquired(real_pthread_rwlock_timedwrlock()(l, t));
}
GREENEV_PATCH int pthread_rwlock_clockrdlock(pthread_rwlock_t* l, clockid_t c, const struct timespec* t) {
  return acquired(real_pthread_rwlock_clockrdlock()(l, c, t));
}
GREENEV_PATCH int pthread_rwlock_clockwrlock(pthread_rwlock_t* l, clockid_t c, const struct timespec* t) {
  return acquired(real_pthread_rwlock_clockwrlock()(l, c, t));
}

namespace greenev::patches {
int held_locks() noexcept { return t_held_locks; }
}  // namespace greenev::patches
