// greenev_bench_locks — the cost of the held-lock rule (patches/pthread.cpp): an uncontended
// pthread_mutex_lock + unlock pair through greenev's interposed functions against glibc's own
// (looked up in libc.so.6 directly, so the interposition is bypassed), plus std::mutex (inline
// code calling pthread_mutex_lock: counted) and a std::shared_mutex read pair (rwlock).
//   RESULT mutex_pair.greenev <ns> ns_per_pair      RESULT mutex_pair.libc <ns> ns_per_pair
//   RESULT std_mutex_pair.greenev <ns> ns_per_pair  RESULT rwlock_rd_pair.greenev / .libc
// Run inside a fiber of a live hub (where the count matters); 2M pairs per run, the variants
// interleaved over 15 rounds and the best run of each kept (a loaded machine only adds time).
#include "bench_common.h"

#include <greenev/greenev.hpp>

#include <dlfcn.h>
#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <mutex>

namespace {

constexpr long kPairs = 2'000'000;
constexpr int kRounds = 15;

template <class F>
void run_once(double& best, F&& pair) {
  const std::uint64_t t0 = bench_now_ns();
  for (long i = 0; i < kPairs; ++i) pair();
  best = std::min(best, static_cast<double>(bench_now_ns() - t0) / kPairs);
}

}  // namespace

int main() {
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  using MutexFn = int (*)(pthread_mutex_t*);
  using RwFn = int (*)(pthread_rwlock_t*);
  auto libc_lock = reinterpret_cast<MutexFn>(dlsym(libc, "pthread_mutex_lock"));
  auto libc_unlock = reinterpret_cast<MutexFn>(dlsym(libc, "pthread_mutex_unlock"));
  auto libc_rdlock = reinterpret_cast<RwFn>(dlsym(libc, "pthread_rwlock_rdlock"));
  auto libc_rwunlock = reinterpret_cast<RwFn>(dlsym(libc, "pthread_rwlock_unlock"));
  if (!libc_lock || !libc_unlock || !libc_rdlock || !libc_rwunlock) {
    std::fprintf(stderr, "cannot find glibc's pthread functions\n");
    return 1;
  }
  greenev::spawn([&] {
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
    std::mutex sm;
    double patched = 1e30, plain = 1e30, stdm = 1e30, rw_patched = 1e30, rw_plain = 1e30;
    for (int round = 0; round < kRounds; ++round) {
      run_once(patched, [&] {
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
      });
      run_once(plain, [&] {
        libc_lock(&m);
        libc_unlock(&m);
      });
      run_once(stdm, [&] {
        sm.lock();
        sm.unlock();
      });
      run_once(rw_patched, [&] {
        pthread_rwlock_rdlock(&rw);
        pthread_rwlock_unlock(&rw);
      });
      run_once(rw_plain, [&] {
        libc_rdlock(&rw);
        libc_rwunlock(&rw);
      });
    }
    std::printf("RESULT mutex_pair.greenev %.2f ns_per_pair\n", patched);
    std::printf("RESULT mutex_pair.libc %.2f ns_per_pair\n", plain);
    std::printf("RESULT std_mutex_pair.greenev %.2f ns_per_pair\n", stdm);
    std::printf("RESULT rwlock_rd_pair.greenev %.2f ns_per_pair\n", rw_patched);
    std::printf("RESULT rwlock_rd_pair.libc %.2f ns_per_pair\n", rw_plain);
    std::printf("NOTE held-lock rule: +%.2f ns per uncontended mutex lock/unlock pair\n", patched - plain);
  }).join();
  return 0;
}
