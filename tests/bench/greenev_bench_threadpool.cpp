// greenev_bench_threadpool.cpp — run_blocking round trip: fiber -> worker thread -> fiber.
//
//   run_blocking.greenev  ns per run_blocking([]{}) from the main fiber, one call at a time:
//                         submit (pool mutex, wake an idle worker), park, worker runs the empty
//                         job and posts it on the hub's completion list (one ev_async_send), the
//                         hub drains it and resumes the fiber. Compare with the floor,
//                         thread_roundtrip.eventfd (peer_eventfd_roundtrip.c): target <= 1.5x.
//   run_blocking_x8.greenev  ns per call with 8 fibers calling concurrently (throughput view).
//
// args: iters=100000 only=run_blocking,run_blocking_x8
#include "bench_common.h"

#include <greenev/greenev.hpp>
#include <greenev/threadpool.hpp>

#include <vector>

int main(int argc, char** argv) {
  const long long iters = bench_arg_ll(argc, argv, "iters", 100000);
  if (bench_selected(argc, argv, "run_blocking")) {
    std::uint64_t sink = 0;
    for (long long i = 0; i < iters / 10 + 1; ++i) sink += greenev::run_blocking([] { return 1; });
    const std::uint64_t t0 = bench_now_ns();
    for (long long i = 0; i < iters; ++i) sink += greenev::run_blocking([] { return 1; });
    const std::uint64_t t1 = bench_now_ns();
    bench_sink(sink);
    bench_result("run_blocking", "greenev", double(t1 - t0) / double(iters), "ns_per_roundtrip");
  }
  if (bench_selected(argc, argv, "run_blocking_x8")) {
    constexpr int kFibers = 8;
    const long long per = iters / kFibers + 1;
    const std::uint64_t t0 = bench_now_ns();
    std::vector<greenev::Fiber<void>> fs;
    for (int f = 0; f < kFibers; ++f)
      fs.push_back(greenev::spawn([per] {
        for (long long i = 0; i < per; ++i) greenev::run_blocking([] {});
      }));
    for (auto& f : fs) f.join();
    const std::uint64_t t1 = bench_now_ns();
    bench_result("run_blocking_x8", "greenev", double(t1 - t0) / double(per * kFibers), "ns_per_call");
  }
  return 0;
}
