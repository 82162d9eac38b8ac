// greenev_bench_sync.cpp — greenev's coordination primitives, one hub, one thread.
//
//   event_pingpong.greenev  two fibers bounce a token through two Events (A sets B's event and
//                           waits on its own; B does the mirror): ns per round trip = 2 wake-ups
//                           and 2 switches. Peers: Boost.Fiber mutex+condvar, Go unbuffered chans.
//   queue_spsc.greenev      1 producer / 1 consumer through greenev::Queue<int>(1024); items per
//                           second. Peers: Boost.Fiber buffered_channel(1024), Go make(chan int, 1024).
//   thread_roundtrip.greenev  run_blocking() of an empty function, when the thread pool header
//                           exists (owned by the thread-pool work); ns per round trip.
//
// args: only=event_pingpong,queue_spsc,thread_roundtrip pingpong_iters=1000000
//       queue_items=10000000 thread_iters=100000
#include <greenev/event.hpp>
#include <greenev/fiber.hpp>
#include <greenev/queue.hpp>
#if __has_include(<greenev/threadpool.hpp>)
#include <greenev/threadpool.hpp>
#define GREENEV_BENCH_HAVE_THREADPOOL 1
#endif

#include <cstdint>

#include "bench_common.h"

namespace {

double bench_pingpong(std::uint64_t iters) {
  greenev::Event ev_a, ev_b;
  auto a = greenev::spawn([&] {
    for (std::uint64_t i = 0; i < iters; ++i) {
      ev_b.set();
      ev_a.wait();
      ev_a.clear();
    }
  });
  auto b = greenev::spawn([&] {
    for (std::uint64_t i = 0; i < iters; ++i) {
      ev_b.wait();
      ev_b.clear();
      ev_a.set();
    }
  });
  std::uint64_t t0 = bench_now_ns();
  a.join();
  b.join();
  std::uint64_t t1 = bench_now_ns();
  return double(t1 - t0) / double(iters);
}

double bench_queue(std::uint64_t items) {
  greenev::Queue<int> q(1024);
  std::uint64_t sum = 0;
  auto prod = greenev::spawn([&] {
    for (std::uint64_t i = 0; i < items; ++i) q.put(int(i));
    q.close();
  });
  auto cons = greenev::spawn([&] {
    try {
      for (;;) sum += std::uint64_t(q.get());
    } catch (const greenev::ChannelClosed&) {
    }
  });
  std::uint64_t t0 = bench_now_ns();
  prod.join();
  cons.join();
  std::uint64_t t1 = bench_now_ns();
  std::uint64_t expect = 0;
  for (std::uint64_t i = 0; i < items; ++i) expect += std::uint64_t(int(i));
  if (sum != expect) printf("NOTE queue_spsc.greenev: checksum mismatch\n");
  return double(items) / (double(t1 - t0) / 1e9);
}

#ifdef GREENEV_BENCH_HAVE_THREADPOOL
double bench_thread(std::uint64_t iters) {
  greenev::run_blocking([] {});  // start the pool outside the timing
  std::uint64_t t0 = bench_now_ns();
  for (std::uint64_t i = 0; i < iters; ++i) greenev::run_blocking([] {});
  std::uint64_t t1 = bench_now_ns();
  return double(t1 - t0) / double(iters);
}
#endif

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t pp = bench_arg_ll(argc, argv, "pingpong_iters", 1000000);
  std::uint64_t qi = bench_arg_ll(argc, argv, "queue_items", 10000000);
  std::uint64_t ti = bench_arg_ll(argc, argv, "thread_iters", 100000);
  if (bench_selected(argc, argv, "event_pingpong"))
    bench_result("event_pingpong", "greenev", bench_pingpong(pp), "ns_per_roundtrip");
  if (bench_selected(argc, argv, "queue_spsc"))
    bench_result("queue_spsc", "greenev", bench_queue(qi), "ops_per_s");
#ifdef GREENEV_BENCH_HAVE_THREADPOOL
  if (bench_selected(argc, argv, "thread_roundtrip"))
    bench_result("thread_roundtrip", "greenev", bench_thread(ti), "ns_per_roundtrip");
#else
  (void)ti;
  if (bench_selected(argc, argv, "thread_roundtrip"))
    bench_fail("thread_roundtrip", "greenev", "ns_per_roundtrip", "built without greenev/threadpool.hpp");
#endif
  return 0;
}
