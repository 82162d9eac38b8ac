// peer_boost_context.cpp — the floor: raw Boost.Context fcontext switches, no scheduler at all.
//
//   switch_pair.boost_context      main <-> one context ping-pong; every jump_fcontext = 1 switch
//   switch_ring1000.boost_context  1000 contexts, each jumps straight to the next one in a ring;
//                                  every jump = 1 switch (touches 1000 stacks, like a real ring)
//
// args: pair_iters=N (switches, default 20M) ring_iters=N (switches, default 10M) only=a,b
#include <boost/context/detail/fcontext.hpp>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "bench_common.h"

namespace ctx = boost::context::detail;

namespace {
constexpr std::size_t kStack = 64 * 1024;

struct Stack {
  void* base = nullptr;
  Stack() { base = std::malloc(kStack); }
  ~Stack() { std::free(base); }
  void* top() const { return static_cast<char*>(base) + kStack; }
};

// ---- pair --------------------------------------------------------------------------------------
void pair_entry(ctx::transfer_t t) {
  for (;;) t = ctx::jump_fcontext(t.fctx, nullptr);  // bounce straight back, forever
}

double bench_pair(std::uint64_t switches) {
  Stack s;
  ctx::fcontext_t c = ctx::make_fcontext(s.top(), kStack, pair_entry);
  std::uint64_t rounds = switches / 2;
  c = ctx::jump_fcontext(c, nullptr).fctx;  // warm up / start
  std::uint64_t t0 = bench_now_ns();
  for (std::uint64_t i = 0; i < rounds; ++i) c = ctx::jump_fcontext(c, nullptr).fctx;
  std::uint64_t t1 = bench_now_ns();
  return double(t1 - t0) / double(rounds * 2);
}

// ---- ring --------------------------------------------------------------------------------------
// g_fc[i] is where context i is currently suspended. A context that receives control learns who
// jumped to it from transfer_t::data (the index) and records that context's new suspension point.
constexpr std::size_t kMain = ~std::size_t(0);
std::vector<ctx::fcontext_t> g_fc;
ctx::fcontext_t g_main;
std::uint64_t g_left;
std::size_t g_n;

inline void record(ctx::transfer_t t) {
  std::size_t from = reinterpret_cast<std::size_t>(t.data);
  if (from == kMain) g_main = t.fctx; else g_fc[from] = t.fctx;
}

void ring_entry(ctx::transfer_t t) {
  // The index of this context travels in the first transfer's data, packed as (from, self).
  auto* init = static_cast<std::size_t*>(t.data);
  std::size_t self = init[1];
  t.data = reinterpret_cast<void*>(init[0]);
  record(t);
  for (;;) {
    if (g_left == 0) {
      t = ctx::jump_fcontext(g_main, reinterpret_cast<void*>(self));
    } else {
      --g_left;
      std::size_t next = self + 1 == g_n ? 0 : self + 1;
      t = ctx::jump_fcontext(g_fc[next], reinterpret_cast<void*>(self));
    }
    record(t);
  }
}

double bench_ring(std::size_t n, std::uint64_t switches) {
  std::vector<Stack> stacks(n);
  g_fc.assign(n, nullptr);
  g_n = n;
  // Start each context once (it records main and jumps back to main), so all are suspended.
  for (std::size_t i = 0; i < n; ++i) {
    g_fc[i] = ctx::make_fcontext(stacks[i].top(), kStack, ring_entry);
    std::size_t init[2] = {kMain, i};
    g_left = 0;
    ctx::transfer_t t = ctx::jump_fcontext(g_fc[i], init);
    record(t);  // context i jumped back to main: record its suspension point
  }
  g_left = switches;
  std::uint64_t t0 = bench_now_ns();
  ctx::transfer_t t = ctx::jump_fcontext(g_fc[0], reinterpret_cast<void*>(kMain));
  std::uint64_t t1 = bench_now_ns();
  record(t);
  return double(t1 - t0) / double(switches + 2);  // + main->ring and ring->main
}
}  // namespace

int main(int argc, char** argv) {
  std::uint64_t pair_iters = bench_arg_ll(argc, argv, "pair_iters", 20000000);
  std::uint64_t ring_iters = bench_arg_ll(argc, argv, "ring_iters", 10000000);
  if (bench_selected(argc, argv, "switch_pair"))
    bench_result("switch_pair", "boost_context", bench_pair(pair_iters), "ns_per_switch");
  if (bench_selected(argc, argv, "switch_ring1000"))
    bench_result("switch_ring1000", "boost_context", bench_ring(1000, ring_iters), "ns_per_switch");
  return 0;
}
