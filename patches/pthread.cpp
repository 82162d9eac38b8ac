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
// The real functions are glibc's exported `__pthread_*` names (same addresses, bound at link time
// through .symver: no dlsym, so a lock taken before any constructor ran works), and dlsym for the
// timed variants, which have none.
#include "patch.hpp"

#include "core/held_locks.hpp"

#include <greenev/patches.hpp>

#include <pthread.h>

#include <dlfcn.h>

using namespace greenev::detail;

GREENEV_PATCH_ANCHOR(pthread);

namespace greenev::detail {
constinit thread_local int t_held_locks __attribute__((tls_model("initial-exec"))) = 0;
}

// glibc >= 2.34 keeps these compat names at GLIBC_2.2.5; they are the same functions.
extern "C" {
int greenev_real_mutex_lock(pthread_mutex_t*);
int greenev_real_mutex_trylock(pthread_mutex_t*);
int greenev_real_mutex_unlock(pthread_mutex_t*);
int greenev_real_rwlock_rdlock(pthread_rwlock_t*);
int greenev_real_rwlock_wrlock(pthread_rwlock_t*);
int greenev_real_rwlock_tryrdlock(pthread_rwlock_t*);
int greenev_real_rwlock_trywrlock(pthread_rwlock_t*);
int greenev_real_rwlock_unlock(pthread_rwlock_t*);
}
__asm__(".symver greenev_real_mutex_lock, __pthread_mutex_lock@GLIBC_2.2.5");
__asm__(".symver greenev_real_mutex_trylock, __pthread_mutex_trylock@GLIBC_2.2.5");
__asm__(".symver greenev_real_mutex_unlock, __pthread_mutex_unlock@GLIBC_2.2.5");
__asm__(".symver greenev_real_rwlock_rdlock, __pthread_rwlock_rdlock@GLIBC_2.2.5");
__asm__(".symver greenev_real_rwlock_wrlock, __pthread_rwlock_wrlock@GLIBC_2.2.5");
__asm__(".symver greenev_real_rwlock_tryrdlock, __pthread_rwlock_tryrdlock@GLIBC_2.2.5");
__asm__(".symver greenev_real_rwlock_trywrlock, __pthread_rwlock_trywrlock@GLIBC_2.2.5");
__asm__(".symver greenev_real_rwlock_unlock, __pthread_rwlock_unlock@GLIBC_2.2.5");

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

template <class Fn>
Fn next_fn(const char* name) noexcept {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

using MutexTimed = int (*)(pthread_mutex_t*, const struct timespec*);
using MutexClock = int (*)(pthread_mutex_t*, clockid_t, const struct timespec*);
using RwTimed = int (*)(pthread_rwlock_t*, const struct timespec*);
using RwClock = int (*)(pthread_rwlock_t*, clockid_t, const struct timespec*);

// Function-local statics: resolved once, thread-safely, at the first call.
MutexTimed real_mutex_timedlock() noexcept {
  static const MutexTimed f = next_fn<MutexTimed>("pthread_mutex_timedlock");
  return f;
}
MutexClock real_mutex_clocklock() noexcept {
  static const MutexClock f = next_fn<MutexClock>("pthread_mutex_clocklock");
  return f;
}
RwTimed real_rw_timedrdlock() noexcept {
  static const RwTimed f = next_fn<RwTimed>("pthread_rwlock_timedrdlock");
  return f;
}
RwTimed real_rw_timedwrlock() noexcept {
  static const RwTimed f = next_fn<RwTimed>("pthread_rwlock_timedwrlock");
  return f;
}
RwClock real_rw_clockrdlock() noexcept {
  static const RwClock f = next_fn<RwClock>("pthread_rwlock_clockrdlock");
  return f;
}
RwClock real_rw_clockwrlock() noexcept {
  static const RwClock f = next_fn<RwClock>("pthread_rwlock_clockwrlock");
  return f;
}

}  // namespace

GREENEV_PATCH int pthread_mutex_lock(pthread_mutex_t* m) { return acquired(greenev_real_mutex_lock(m)); }
GREENEV_PATCH int pthread_mutex_trylock(pthread_mutex_t* m) { return acquired(greenev_real_mutex_trylock(m)); }
GREENEV_PATCH int pthread_mutex_unlock(pthread_mutex_t* m) { return released(greenev_real_mutex_unlock(m)); }
GREENEV_PATCH int pthread_mutex_timedlock(pthread_mutex_t* m, const struct timespec* t) {
  return acquired(real_mutex_timedlock()(m, t));
}
GREENEV_PATCH int pthread_mutex_clocklock(pthread_mutex_t* m, clockid_t c, const struct timespec* t) {
  return acquired(real_mutex_clocklock()(m, c, t));
}

GREENEV_PATCH int pthread_rwlock_rdlock(pthread_rwlock_t* l) { return acquired(greenev_real_rwlock_rdlock(l)); }
GREENEV_PATCH int pthread_rwlock_wrlock(pthread_rwlock_t* l) { return acquired(greenev_real_rwlock_wrlock(l)); }
GREENEV_PATCH int pthread_rwlock_tryrdlock(pthread_rwlock_t* l) { return acquired(greenev_real_rwlock_tryrdlock(l)); }
GREENEV_PATCH int pthread_rwlock_trywrlock(pthread_rwlock_t* l) { return acquired(greenev_real_rwlock_trywrlock(l)); }
GREENEV_PATCH int pthread_rwlock_unlock(pthread_rwlock_t* l) { return released(greenev_real_rwlock_unlock(l)); }
GREENEV_PATCH int pthread_rwlock_timedrdlock(pthread_rwlock_t* l, const struct timespec* t) {
  return acquired(real_rw_timedrdlock()(l, t));
}
GREENEV_PATCH int pthread_rwlock_timedwrlock(pthread_rwlock_t* l, const struct timespec* t) {
  return acquired(real_rw_timedwrlock()(l, t));
}
GREENEV_PATCH int pthread_rwlock_clockrdlock(pthread_rwlock_t* l, clockid_t c, const struct timespec* t) {
  return acquired(real_rw_clockrdlock()(l, c, t));
}
GREENEV_PATCH int pthread_rwlock_clockwrlock(pthread_rwlock_t* l, clockid_t c, const struct timespec* t) {
  return acquired(real_rw_clockwrlock()(l, c, t));
}

namespace greenev::patches {
int held_locks() noexcept { return t_held_locks; }
}  // namespace greenev::patches
