// peer_boost_fiber_core.cpp — Boost.Fiber (1.74, default round_robin scheduler, one thread).
//
//   switch_pair.boost_fiber       2 fibers, each calls this_fiber::yield() in a loop; ns per yield
//   switch_ring1000.boost_fiber   1000 fibers, each yields in a loop; ns per yield
//   spawn_join_seq.boost_fiber    fiber f(empty); f.join(); repeated; ns per spawn+run+join
//   spawn_join_batch.boost_fiber  spawn 1000, join 1000, repeated; ns per fiber
//   skynet_ms.boost_fiber / skynet_rss.boost_fiber
//                                 1M leaves in a 10-ary tree, each node spawns 10 child fibers and
//                                 sums their results after joining them (VmHWM is process-wide:
//                                 run skynet in its own process, e.g. only=skynet).
//   skynet_chan_ms.boost_fiber / skynet_chan_rss.boost_fiber
//                                 the same tree as Go writes it: each child sends its sum on its
//                                 parent's unbuffered_channel, the parent pops ten (only=skynet_chan)
//
// args: only=switch_pair,switch_ring1000,spawn_join_seq,spawn_join_batch,skynet
//       pair_iters= ring_iters= spawn_iters= skynet_leaves= (power of 10)
//       stack=BYTES  stack size for spawn/skynet fibers (default Boost's default_size(), 128 KiB)
//       alloc=fixed|pooled  fixedsize_stack (Boost's default; malloc per fiber) or
//                           pooled_fixedsize_stack (Boost's recommended allocator for churn)
//       impl=LABEL   result label (default boost_fiber)
#include <boost/fiber/all.hpp>

#include <cstdint>
#include <new>
#include <string_view>
#include <vector>

#include "bench_common.h"

namespace bf = boost::fibers;

namespace {
std::size_t g_stack = boost::context::stack_traits::default_size();
bf::pooled_fixedsize_stack* g_pool = nullptr;  // set by alloc=pooled

template <class F>
bf::fiber make_fiber(F&& f) {
  if (g_pool) return bf::fiber(std::allocator_arg, *g_pool, std::forward<F>(f));
  return bf::fiber(std::allocator_arg, bf::fixedsize_stack(g_stack), std::forward<F>(f));
}

double bench_switch(std::size_t nfibers, std::uint64_t switches) {
  std::uint64_t per = switches / nfibers;
  std::vector<bf::fiber> fs;
  fs.reserve(nfibers);
  std::size_t started = 0;
  for (std::size_t i = 0; i < nfibers; ++i)
    fs.emplace_back([per, &started] {
      ++started;
      for (std::uint64_t k = 0; k < per; ++k) boost::this_fiber::yield();
    });
  // Let every fiber start (and first-touch its stack) before timing: main yields once; the
  // round_robin queue runs all fibers once, then main again.
  boost::this_fiber::yield();
  std::uint64_t t0 = bench_now_ns();
  for (auto& f : fs) f.join();
  std::uint64_t t1 = bench_now_ns();
  if (started != nfibers) printf("NOTE boost_fiber switch: only %zu/%zu started\n", started, nfibers);
  return double(t1 - t0) / double(per * nfibers);
}

double bench_spawn_seq(std::uint64_t n) {
  std::uint64_t sum = 0;
  std::uint64_t t0 = bench_now_ns();
  for (std::uint64_t i = 0; i < n; ++i) {
    bf::fiber f = make_fiber([&sum] { ++sum; });
    f.join();
  }
  std::uint64_t t1 = bench_now_ns();
  bench_sink(sum);
  return double(t1 - t0) / double(n);
}

double bench_spawn_batch(std::uint64_t n, std::size_t batch) {
  std::uint64_t sum = 0;
  std::vector<bf::fiber> fs(batch);
  std::uint64_t rounds = n / batch;
  std::uint64_t t0 = bench_now_ns();
  for (std::uint64_t r = 0; r < rounds; ++r) {
    for (auto& f : fs) f = make_fiber([&sum] { ++sum; });
    for (auto& f : fs) f.join();
  }
  std::uint64_t t1 = bench_now_ns();
  bench_sink(sum);
  return double(t1 - t0) / double(rounds * batch);
}

std::uint64_t skynet(std::uint64_t num, std::uint64_t size) {
  if (size == 1) return num;
  std::uint64_t part[10];
  bf::fiber kids[10];
  std::uint64_t sub = size / 10;
  for (int i = 0; i < 10; ++i)
    kids[i] = make_fiber([&part, i, num, sub] { part[i] = skynet(num + i * sub, sub); });
  std::uint64_t sum = 0;
  for (int i = 0; i < 10; ++i) {
    kids[i].join();
    sum += part[i];
  }
  return sum;
}
void skynet_chan(bf::unbuffered_channel<std::uint64_t>& out, std::uint64_t num, std::uint64_t size) {
  if (size == 1) {
    out.push(num);
    return;
  }
  bf::unbuffered_channel<std::uint64_t> rc;
  std::uint64_t sub = size / 10;
  for (int i = 0; i < 10; ++i) make_fiber([&rc, n = num + i * sub, sub] { skynet_chan(rc, n, sub); }).detach();
  std::uint64_t sum = 0;
  for (int i = 0; i < 10; ++i) sum += rc.value_pop();
  out.push(sum);
}

void run_skynet(const char* ms_key, const char* rss_key, const char* impl, std::uint64_t leaves, bool chan) {
  try {
    std::uint64_t t0 = bench_now_ns();
    std::uint64_t sum;
    if (chan) {
      bf::unbuffered_channel<std::uint64_t> top;
      make_fiber([&top, leaves] { skynet_chan(top, 0, leaves); }).detach();
      sum = top.value_pop();
    } else {
      sum = skynet(0, leaves);
    }
    std::uint64_t t1 = bench_now_ns();
    std::uint64_t expect = leaves * (leaves - 1) / 2;
    if (sum != expect) {
      char why[128];
      snprintf(why, sizeof why, "wrong sum %llu (expected %llu)", (unsigned long long)sum, (unsigned long long)expect);
      bench_fail(ms_key, impl, "ms", why);
    } else {
      bench_result(ms_key, impl, double(t1 - t0) / 1e6, "ms");
      bench_result(rss_key, impl, double(bench_hwm_kib()) / 1024.0, "mb_peak_rss");
    }
  } catch (const std::exception& e) {
    // Out of stack memory/mappings: report instead of aborting the whole runner.
    char why[200];
    snprintf(why, sizeof why, "skynet aborted: %s (stack=%zu)", e.what(), g_stack);
    bench_fail(ms_key, impl, "ms", why);
    fflush(stdout);
    _Exit(0);  // fibers are still suspended mid-tree; don't try to unwind them
  }
}
}  // namespace

int main(int argc, char** argv) {
  g_stack = (std::size_t)bench_arg_ll(argc, argv, "stack", (long long)g_stack);
  const char* alloc = bench_arg(argc, argv, "alloc");  // fixed (default) | pooled
  if (alloc && std::string_view(alloc) == "pooled") g_pool = new bf::pooled_fixedsize_stack(g_stack);
  std::uint64_t pair_iters = bench_arg_ll(argc, argv, "pair_iters", 5000000);
  std::uint64_t ring_iters = bench_arg_ll(argc, argv, "ring_iters", 3000000);
  std::uint64_t spawn_iters = bench_arg_ll(argc, argv, "spawn_iters", 1000000);
  std::uint64_t leaves = bench_arg_ll(argc, argv, "skynet_leaves", 1000000);
  const char* impl = bench_arg(argc, argv, "impl");  // label override, e.g. boost_fiber_16k
  if (!impl) impl = "boost_fiber";

  if (bench_selected(argc, argv, "switch_pair"))
    bench_result("switch_pair", impl, bench_switch(2, pair_iters), "ns_per_switch");
  if (bench_selected(argc, argv, "switch_ring1000"))
    bench_result("switch_ring1000", impl, bench_switch(1000, ring_iters), "ns_per_switch");
  if (bench_selected(argc, argv, "spawn_join_seq"))
    bench_result("spawn_join_seq", impl, bench_spawn_seq(spawn_iters), "ns_per_op");
  if (bench_selected(argc, argv, "spawn_join_batch"))
    bench_result("spawn_join_batch", impl, bench_spawn_batch(spawn_iters, 1000), "ns_per_op");
  if (bench_selected(argc, argv, "skynet")) run_skynet("skynet_ms", "skynet_rss", impl, leaves, false);
  if (bench_selected(argc, argv, "skynet_chan")) run_skynet("skynet_chan_ms", "skynet_chan_rss", impl, leaves, true);
  return 0;
}
