// peer_boost_fiber_sync.cpp — Boost.Fiber synchronization primitives, one thread.
//
//   event_pingpong.boost_fiber  two fibers hand a token back and forth through a
//                               fibers::mutex + fibers::condition_variable pair; ns per round trip
//                               (A wakes B, B wakes A = 1 round trip = 2 wake-ups)
//   queue_spsc.boost_fiber      1 producer / 1 consumer through buffered_channel<int>(1024)
//                               (Boost needs a power of two; it holds 1023 items); items per second
//
// args: only=event_pingpong,queue_spsc pingpong_iters=1000000 queue_items=10000000
#include <boost/fiber/all.hpp>

#include <cstdint>
#include <mutex>

#include "bench_common.h"

namespace bf = boost::fibers;

namespace {
double bench_pingpong(std::uint64_t iters) {
  bf::mutex m;
  bf::condition_variable cv_a, cv_b;
  int turn = 0;  // 0: A's turn, 1: B's turn
  bf::fiber a([&] {
    for (std::uint64_t i = 0; i < iters; ++i) {
      std::unique_lock<bf::mutex> lk(m);
      turn = 1;
      cv_b.notify_one();
      cv_a.wait(lk, [&] { return turn == 0; });
    }
  });
  bf::fiber b([&] {
    for (std::uint64_t i = 0; i < iters; ++i) {
      std::unique_lock<bf::mutex> lk(m);
      cv_b.wait(lk, [&] { return turn == 1; });
      turn = 0;
      cv_a.notify_one();
    }
  });
  std::uint64_t t0 = bench_now_ns();
  a.join();
  b.join();
  std::uint64_t t1 = bench_now_ns();
  return double(t1 - t0) / double(iters);
}

double bench_queue(std::uint64_t items) {
  bf::buffered_channel<int> ch(1024);
  std::uint64_t sum = 0;
  bf::fiber prod([&] {
    for (std::uint64_t i = 0; i < items; ++i) ch.push(int(i));
    ch.close();
  });
  bf::fiber cons([&] {
    int v;
    while (ch.pop(v) == bf::channel_op_status::success) sum += std::uint64_t(v);
  });
  std::uint64_t t0 = bench_now_ns();
  prod.join();
  cons.join();
  std::uint64_t t1 = bench_now_ns();
  std::uint64_t expect = 0;
  for (std::uint64_t i = 0; i < items; ++i) expect += std::uint64_t(int(i));
  if (sum != expect) printf("NOTE queue_spsc.boost_fiber: checksum mismatch\n");
  return double(items) / (double(t1 - t0) / 1e9);
}
}  // namespace

int main(int argc, char** argv) {
  std::uint64_t pp = bench_arg_ll(argc, argv, "pingpong_iters", 1000000);
  std::uint64_t qi = bench_arg_ll(argc, argv, "queue_items", 10000000);
  if (bench_selected(argc, argv, "event_pingpong"))
    bench_result("event_pingpong", "boost_fiber", bench_pingpong(pp), "ns_per_roundtrip");
  if (bench_selected(argc, argv, "queue_spsc"))
    bench_result("queue_spsc", "boost_fiber", bench_queue(qi), "ops_per_s");
  return 0;
}
