// peer_boost_fiber_idle.cpp — idle memory: RSS per Boost.Fiber parked in a long sleep_for.
//
//   idle_rss_<label>.<impl>   (VmRSS after all fibers started - VmRSS before spawning) / N, KiB
//
// One N per process (RSS deltas must not see a previous run's heap). If a stack cannot be
// allocated (memory, vm.max_map_count for protected stacks), the run stops there and reports
// FAIL plus a NOTE with how far it got and the per-fiber cost up to that point — never a crash.
//
// protected_fixedsize_stack = mmap + mprotect(guard page): 2 VMAs per fiber, so the default
// vm.max_map_count (65530) allows ~32k. Which call hits the limit first depends on the parity of
// the process's other mappings: either mmap fails (bad_alloc) or mprotect fails — and Boost only
// BOOST_ASSERTs that, so in a release build the stack silently has no guard page, later mappings
// merge, and the run "succeeds". Both outcomes are reported as FAIL with a NOTE (the VMA count
// tells them apart).
//
// args: n=100000 label=100k stack=BYTES (default Boost's 128 KiB)
//       alloc=fixed|protected  (fixedsize_stack: malloc; protected_fixedsize_stack: mmap+guard page)
//       impl=LABEL (default boost_fiber)
#include <boost/fiber/all.hpp>

#include <chrono>
#include <fstream>
#include <string>
#include <cstdint>
#include <string_view>
#include <vector>

#include "bench_common.h"

namespace bf = boost::fibers;

static long count_vmas() {
  std::ifstream f("/proc/self/maps");
  std::string line;
  long n = 0;
  while (std::getline(f, line)) ++n;
  return n;
}

int main(int argc, char** argv) {
  std::size_t n = (std::size_t)bench_arg_ll(argc, argv, "n", 100000);
  std::size_t stack = (std::size_t)bench_arg_ll(argc, argv, "stack",
                                                (long long)boost::context::stack_traits::default_size());
  const char* label = bench_arg(argc, argv, "label");
  const char* impl = bench_arg(argc, argv, "impl");
  const char* alloc = bench_arg(argc, argv, "alloc");
  bool prot = alloc && std::string_view(alloc) == "protected";
  if (!impl) impl = "boost_fiber";
  char bench[64];
  snprintf(bench, sizeof bench, "idle_rss_%s", label ? label : "100k");

  std::size_t started = 0;
  auto body = [&started] {
    ++started;
    boost::this_fiber::sleep_for(std::chrono::hours(1));
  };
  long rss0 = bench_rss_kib();
  long vma0 = prot ? count_vmas() : 0;
  std::size_t spawned = 0;
  const char* error = nullptr;
  std::uint64_t t0 = bench_now_ns();
  try {
    for (; spawned < n; ++spawned) {
      bf::fiber f = prot ? bf::fiber(std::allocator_arg, bf::protected_fixedsize_stack(stack), body)
                         : bf::fiber(std::allocator_arg, bf::fixedsize_stack(stack), body);
      f.detach();
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  long rss1 = bench_rss_kib();
  long vma1 = prot ? count_vmas() : 0;
  // round_robin: one yield of main runs every ready fiber once (each parks in sleep_for).
  while (started < spawned) boost::this_fiber::yield();
  std::uint64_t t1 = bench_now_ns();
  long rss2 = bench_rss_kib();

  printf("INFO %s.%s n=%zu spawned=%zu stack=%zu alloc=%s rss_before=%ldKiB after_spawn=%ldKiB "
         "after_start=%ldKiB spawn+start=%.1fms\n",
         bench, impl, n, spawned, stack, prot ? "protected" : "fixed", rss0, rss1, rss2,
         double(t1 - t0) / 1e6);
  // (a few mappings merge with neighbours either way: allow some slack)
  if (prot && !error && vma1 - vma0 < 2 * long(spawned) - 100) {
    char why[320];
    snprintf(why, sizeof why,
             "all %zu stacks allocated but only %ld new mappings (2 per guarded stack expected): "
             "mprotect of the guard page failed past vm.max_map_count and Boost ignores it in "
             "release builds, so ~%ld stacks have no guard page; %.2f KiB/fiber",
             spawned, vma1 - vma0, long(spawned) - (vma1 - vma0) / 2,
             double(rss2 - rss0) / double(n));
    bench_fail(bench, impl, "kib_per_fiber", why);
  } else if (error) {
    char why[256];
    snprintf(why, sizeof why,
             "stack allocation failed after %zu of %zu fibers (%s; stack=%zu alloc=%s); "
             "%.2f KiB/fiber up to that point",
             spawned, n, error, stack, prot ? "protected" : "fixed",
             spawned ? double(rss2 - rss0) / double(spawned) : 0.0);
    bench_fail(bench, impl, "kib_per_fiber", why);
  } else {
    bench_result(bench, impl, double(rss2 - rss0) / double(n), "kib_per_fiber");
  }
  fflush(stdout);
  _Exit(0);  // N fibers are asleep for an hour; skip tearing them down
}
