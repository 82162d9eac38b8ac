// Child program: a fiber recurses without bound. Expected: killed by SIGSEGV after printing
// "greenev: stack overflow in fiber 'deep-recursion'". With argv[1] == "slab" the guarded limit is
// zero (GREENEV_MAX_GUARDED_STACKS=0 set by the test), so the canary path must catch it.
#include <greenev/greenev.hpp>

#include <cstdio>
#include <cstring>

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

int main(int argc, char** argv) {
  const bool slab = argc > 1 && std::strcmp(argv[1], "slab") == 0;
  std::printf("start\n");
  std::fflush(stdout);
  greenev::SpawnOptions o{"deep-recursion", slab ? std::size_t{48 * 1024} : std::size_t{64 * 1024}};
  auto f = slab ? greenev::spawn(o, slab_overflow) : greenev::spawn(o, recurse, 0);
  f.join();
  std::printf("not reached\n");
  return 0;
}
