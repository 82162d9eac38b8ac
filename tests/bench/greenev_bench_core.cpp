// greenev_bench_core — greenev's side of the core benchmarks (peers: peer_boost_context,
// peer_boost_fiber_core/idle, go/, gevent/). Prints "RESULT <bench>.greenev <value> <unit>".
//
//   switch_pair       2 fibers yielding to each other; ns per switch
//   switch_ring1000   1000 fibers each yielding in a loop; ns per switch
//   spawn_join_seq    spawn an empty fiber, join it, repeat; ns per spawn+run+join
//   spawn_join_batch  spawn 1000, join 1000, repeat; ns per spawn+run+join
//   idle_rss_100k/1m  RSS growth per fiber with N fibers started and blocked in sleep
//   skynet            1M leaves in a 10-ary tree summing 0..999999; ms and peak RSS. Join
//                     formulation: each parent joins its ten children (skynet_ms, skynet_rss)
//   skynet_chan       the same tree written as Go's skynet is: each child sends its sum on its
//                     parent's unbuffered Channel, the parent receives ten (skynet_chan_ms/_rss).
//                     Run each formulation in its own process (VmHWM is process-wide).
// args: only=<list> pair_iters= ring_iters= spawn_iters= skynet_leaves=
#include <greenev/greenev.hpp>

#include "bench_common.h"

#include <cstdint>
#include <vector>

using namespace std::chrono_literals;

static double bench_switch(int nfibers, std::uint64_t total_switches) {
  const std::uint64_t per = total_switches / nfibers;
  std::vector<greenev::Fiber<void>> fs;
  for (int i = 0; i < nfibers; ++i)
    fs.push_back(greenev::spawn([per] {
      for (std::uint64_t k = 0; k < per; ++k) greenev::this_fiber::yield();
    }));
  greenev::this_fiber::yield();  // warm: all started, stacks faulted in
  const std::uint64_t t0 = bench_now_ns();
  for (auto& f : fs) f.join();
  const std::uint64_t t1 = bench_now_ns();
  // Per yield, as the peers count it (a yield that passes through the hub costs more, not less).
  return double(t1 - t0) / double(per * nfibers);
}

static double bench_spawn_seq(std::uint64_t n) {
  for (int i = 0; i < 1000; ++i) greenev::spawn([] {}).join();  // warm the stack pool
  const std::uint64_t t0 = bench_now_ns();
  for (std::uint64_t i = 0; i < n; ++i) greenev::spawn([] {}).join();
  return double(bench_now_ns() - t0) / double(n);
}

static double bench_spawn_batch(std::uint64_t n, std::size_t batch) {
  std::vector<greenev::Fiber<void>> fs;
  fs.reserve(batch);
  const std::uint64_t t0 = bench_now_ns();
  for (std::uint64_t done = 0; done < n; done += batch) {
    for (std::size_t i = 0; i < batch; ++i) fs.push_back(greenev::spawn([] {}));
    for (auto& f : fs) f.join();
    fs.clear();
  }
  return double(bench_now_ns() - t0) / double(n);
}

static double bench_idle(std::size_t n) {
  // Small stacks are not needed: pages are only touched on use. Default settings throughout.
  std::vector<greenev::Fiber<void>> fs;
  fs.reserve(n);
  const long rss0 = bench_rss_kib();
  for (std::size_t i = 0; i < n; ++i) fs.push_back(greenev::spawn([] { greenev::sleep(1h); }));
  greenev::sleep(1ms);  // every fiber runs once and parks in sleep
  while (greenev::hub_stats().fibers_alive < n) greenev::sleep(1ms);
  const long rss1 = bench_rss_kib();
  for (auto& f : fs) f.kill(greenev::no_wait);
  for (auto& f : fs) f.wait();
  return double(rss1 - rss0) / double(n);
}

static std::int64_t skynet(std::int64_t num, std::int64_t size, std::int64_t div) {
  if (size == 1) return num;
  greenev::Fiber<std::int64_t> kids[10];
  const std::int64_t sub = size / div;
  for (std::int64_t i = 0; i < div; ++i) kids[i] = greenev::spawn(skynet, num + i * sub, sub, div);
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < div; ++i) sum += kids[i].join();
  return sum;
}

static void skynet_chan(greenev::Channel<std::int64_t>& out, std::int64_t num, std::int64_t size, std::int64_t div) {
  if (size == 1) {
    out.put(num);
    return;
  }
  greenev::Channel<std::int64_t> rc;
  const std::int64_t sub = size / div;
  for (std::int64_t i = 0; i < div; ++i)
    greenev::spawn([&rc, n = num + i * sub, sub, div] { skynet_chan(rc, n, sub, div); }).detach();
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < div; ++i) sum += rc.get();
  out.put(sum);
}

static void report_skynet(const char* ms_key, const char* rss_key, std::int64_t sum, std::int64_t leaves,
                          std::uint64_t ns) {
  if (sum != leaves * (leaves - 1) / 2) {
    bench_fail(ms_key, "greenev", "ms", "wrong sum");
  } else {
    bench_result(ms_key, "greenev", double(ns) / 1e6, "ms");
    bench_result(rss_key, "greenev", double(bench_hwm_kib()) / 1024.0, "mb_peak_rss");
  }
}

int main(int argc, char** argv) {
  const std::uint64_t pair_iters = bench_arg_ll(argc, argv, "pair_iters", 5000000);
  const std::uint64_t ring_iters = bench_arg_ll(argc, argv, "ring_iters", 3000000);
  const std::uint64_t spawn_iters = bench_arg_ll(argc, argv, "spawn_iters", 1000000);
  const std::int64_t leaves = bench_arg_ll(argc, argv, "skynet_leaves", 1000000);
  const char* impl = "greenev";

  if (bench_selected(argc, argv, "switch_pair"))
    bench_result("switch_pair", impl, bench_switch(2, pair_iters), "ns_per_switch");
  if (bench_selected(argc, argv, "switch_ring1000"))
    bench_result("switch_ring1000", impl, bench_switch(1000, ring_iters), "ns_per_switch");
  if (bench_selected(argc, argv, "spawn_join_seq"))
    bench_result("spawn_join_seq", impl, bench_spawn_seq(spawn_iters), "ns_per_op");
  if (bench_selected(argc, argv, "spawn_join_batch"))
    bench_result("spawn_join_batch", impl, bench_spawn_batch(spawn_iters, 1000), "ns_per_op");
  if (bench_selected(argc, argv, "idle_rss_100k"))
    bench_result("idle_rss_100k", impl, bench_idle(100000), "kib_per_fiber");
  if (bench_selected(argc, argv, "idle_rss_1m"))
    bench_result("idle_rss_1m", impl, bench_idle(1000000), "kib_per_fiber");
  if (bench_selected(argc, argv, "skynet")) {
    const std::uint64_t t0 = bench_now_ns();
    const std::int64_t sum = skynet(0, leaves, 10);
    report_skynet("skynet_ms", "skynet_rss", sum, leaves, bench_now_ns() - t0);
  }
  if (bench_selected(argc, argv, "skynet_chan")) {
    const std::uint64_t t0 = bench_now_ns();
    greenev::Channel<std::int64_t> top;
    greenev::spawn([&top, leaves] { skynet_chan(top, 0, leaves, 10); }).detach();
    const std::int64_t sum = top.get();
    report_skynet("skynet_chan_ms", "skynet_chan_rss", sum, leaves, bench_now_ns() - t0);
  }
  return 0;
}
