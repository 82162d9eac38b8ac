// Child program: stack overflows must stop the process with a message naming the fiber, never
// corrupt another fiber silently.
//   (none)    a fiber on a guarded stack recurses without bound -> SIGSEGV after
//             "greenev: stack overflow in fiber 'deep-recursion'"
//   slab      (GREENEV_MAX_GUARDED_STACKS=0 GREENEV_SLAB_GUARDS=0 set by the test) a frame writes
//             across the red zone's canary page, then yields -> SIGABRT, message with "canary"
//   jump      slab stacks; 'jumper' has a frame much larger than its stack and writes only the
//             far end of it (1082 bytes), past the canary, where the neighbour below lives; the
//             neighbour checks its memory. Either the process dies naming 'jumper' (guard region)
//             or it prints "neighbour intact"; "neighbour corrupted" is the silent-corruption bug.
//   deep N    N fibers parked, then 'deep-recursion' recurses without bound on a slab stack
//             (GREENEV_MAX_GUARDED_STACKS set low by the test) -> a message naming it, not a bare
//             SIGSEGV
#include <greenev/greenev.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace std::chrono_literals;

static int recurse(int n) {
  volatile char pad[512];
  pad[0] = static_cast<char>(n);
  if (n < 0) return pad[0];
  return recurse(n + 1) + pad[0];
}

static int slab_overflow() {
  // Touch below the stack without faulting into unmapped memory (slab neighbours are mapped):
  // write far enough down to clobber the canary, then switch (yield checks it).
  volatile char pad[60 * 1024];
  std::memset(const_cast<char*>(pad), 0x5a, sizeof pad);
  greenev::this_fiber::yield();
  return pad[0];
}

static greenev::Event g_neighbour_ready;

static int jumper() {
  g_neighbour_ready.wait();
  volatile char buf[88 * 1024];  // 40 KiB more than its 48 KiB stack; only the far end is used
  for (int i = 0; i < 1082; ++i) buf[i] = 0x5a;
  greenev::this_fiber::yield();
  return buf[0];
}

static int neighbour() {
  volatile unsigned char mem[44 * 1024];
  for (std::size_t i = 0; i < sizeof mem; ++i) mem[i] = 0xa5;
  g_neighbour_ready.set();
  greenev::sleep(50ms);
  for (std::size_t i = 0; i < sizeof mem; ++i)
    if (mem[i] != 0xa5) {
      std::printf("neighbour corrupted at offset %zu\n", i);
      return 1;
    }
  std::printf("neighbour intact\n");
  return 0;
}

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  const char* mode = argc > 1 ? argv[1] : "";
  std::printf("start\n");
  if (std::strcmp(mode, "jump") == 0) {
    // Stacks of an explicit size are mapped at spawn, handed out from the top of a slab down:
    // the jumper's stack lies directly above the neighbour's.
    auto j = greenev::spawn(greenev::SpawnOptions{"jumper", 48 * 1024}, jumper);
    auto n = greenev::spawn(greenev::SpawnOptions{"neighbour", 48 * 1024}, neighbour);
    j.join();
    return n.join();
  }
  if (std::strcmp(mode, "deep") == 0) {
    const int n = argc > 2 ? std::atoi(argv[2]) : 40000;
    static greenev::Event stop;
    std::vector<greenev::Fiber<void>> parked;
    parked.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) parked.push_back(greenev::spawn([] { stop.wait(); }));
    greenev::this_fiber::yield();  // all started: stacks mapped, slabs in use
    std::printf("parked %d\n", n);
    greenev::spawn(greenev::SpawnOptions{"deep-recursion"}, recurse, 0).join();
    std::printf("not reached\n");
    return 0;
  }
  const bool slab = std::strcmp(mode, "slab") == 0;
  greenev::SpawnOptions o{"deep-recursion", slab ? std::size_t{48 * 1024} : std::size_t{64 * 1024}};
  auto f = slab ? greenev::spawn(o, slab_overflow) : greenev::spawn(o, recurse, 0);
  f.join();
  std::printf("not reached\n");
  return 0;
}
