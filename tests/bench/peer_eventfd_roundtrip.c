/* peer_eventfd_roundtrip.c — the thread hand-off floor.
 *
 *   thread_roundtrip.<impl>  caller writes eventfd A; a worker thread blocked in read(A) wakes,
 *                            writes eventfd B; the caller, blocked in read(B), wakes. ns per round
 *                            trip. Two kernel wake-ups + four syscalls: what any "run this on a
 *                            worker thread and wait for it" path costs at minimum.
 *
 * The number depends heavily on placement: the runner runs it unpinned (threads on 2 CPUs,
 * impl=eventfd) and pinned to one CPU (impl=eventfd_samecpu).
 *
 * args: iters=200000 impl=eventfd
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench_common.h"

static int efd_req, efd_resp;
static uint64_t g_iters;

static void must_read(int fd) {
  uint64_t v;
  while (read(fd, &v, sizeof v) != sizeof v) {}
}
static void must_write(int fd) {
  uint64_t v = 1;
  while (write(fd, &v, sizeof v) != sizeof v) {}
}

static void* worker(void* arg) {
  (void)arg;
  for (uint64_t i = 0; i < g_iters; ++i) {
    must_read(efd_req);
    must_write(efd_resp);
  }
  return NULL;
}

int main(int argc, char** argv) {
  uint64_t iters = (uint64_t)bench_arg_ll(argc, argv, "iters", 200000);
  const char* impl = bench_arg(argc, argv, "impl");
  if (!impl) impl = "eventfd";
  uint64_t warm = iters / 10 + 1;
  g_iters = iters + warm;
  efd_req = eventfd(0, EFD_CLOEXEC);
  efd_resp = eventfd(0, EFD_CLOEXEC);
  if (efd_req < 0 || efd_resp < 0) {
    bench_fail("thread_roundtrip", impl, "ns_per_roundtrip", "eventfd() failed");
    return 0;
  }
  pthread_t th;
  pthread_create(&th, NULL, worker, NULL);
  for (uint64_t i = 0; i < warm; ++i) {
    must_write(efd_req);
    must_read(efd_resp);
  }
  uint64_t t0 = bench_now_ns();
  for (uint64_t i = 0; i < iters; ++i) {
    must_write(efd_req);
    must_read(efd_resp);
  }
  uint64_t t1 = bench_now_ns();
  pthread_join(th, NULL);
  bench_result("thread_roundtrip", impl, (double)(t1 - t0) / (double)iters, "ns_per_roundtrip");
  return 0;
}
