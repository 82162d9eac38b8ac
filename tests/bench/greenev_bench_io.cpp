// greenev_bench_io — the cost of a patched read() when data is ready (no yield) against the raw
// syscall: the interposition, the hub check and the fd table lookup on the fast path.
//
// usage: greenev_bench_io [only=patched_read] [iters=N]
//   RESULT patched_read.greenev <ns> ns_per_call    ::read() in the main fiber (a hub exists)
//   RESULT patched_read.raw <ns> ns_per_call        syscall(SYS_read) on the same socket
// An AF_UNIX socket with a large buffer is filled with 64-byte messages (untimed raw writes), then
// drained with timed 64-byte reads; batches alternate between the two, the best batch counts.
#include <greenev/greenev.hpp>

#include "bench_common.h"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace {

constexpr int kMsg = 64;

void fill(int fd, int n) {
  char buf[kMsg] = {};
  for (int i = 0; i < n; ++i)
    if (syscall(SYS_write, fd, buf, kMsg) != kMsg) std::abort();
}

template <class F>
double batch(int wr, int rd, int n, F&& read_fn) {
  fill(wr, n);
  char buf[kMsg];
  const std::uint64_t t0 = bench_now_ns();
  for (int i = 0; i < n; ++i)
    if (read_fn(rd, buf, kMsg) != kMsg) std::abort();
  return static_cast<double>(bench_now_ns() - t0) / n;
}

}  // namespace

int main(int argc, char** argv) {
  int iters = 2000;  // per batch
  int batches = 200;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "iters=", 6) == 0) batches = std::max(1, std::atoi(argv[i] + 6) / iters);
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  int big = 4 << 20;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  (void)greenev::hub_stats();  // the thread's hub exists: read() takes the cooperative path
  double best_g = 1e18, best_r = 1e18;
  const auto sw0 = greenev::hub_stats().switches;
  for (int b = 0; b < batches; ++b) {
    best_g = std::min(best_g, batch(sv[0], sv[1], iters, [](int fd, void* p, size_t n) { return ::read(fd, p, n); }));
    best_r = std::min(best_r, batch(sv[0], sv[1], iters, [](int fd, void* p, size_t n) {
      return static_cast<ssize_t>(syscall(SYS_read, fd, p, n));
    }));
  }
  if (greenev::hub_stats().switches != sw0) std::printf("NOTE patched_read: the ready reads switched\n");
  bench_result("patched_read", "greenev", best_g, "ns_per_call");
  bench_result("patched_read", "raw", best_r, "ns_per_call");
  std::printf("NOTE patched_read: ratio greenev/raw = %.3f\n", best_g / best_r);
  return 0;
}
