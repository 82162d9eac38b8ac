// io_signal_storm — a 1 ms SIGALRM storm (setitimer, handler without SA_RESTART) during 10,000
// patched operations between fibers: socket ping-pong, pipe transfers, short sleeps and polls.
// Every operation must complete with the right result (EINTR never leaks out of a patched call).
// Prints "storm: ok ops=<n> signals=<n>" and exits 0.
#include <greenev/greenev.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static std::atomic<int> g_signals{0};
static void on_alarm(int) { g_signals.fetch_add(1, std::memory_order_relaxed); }

int main() {
  struct sigaction sa{};
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: every blocked syscall gets EINTR
  sigaction(SIGALRM, &sa, nullptr);
  itimerval it{{0, 1000}, {0, 1000}};
  setitimer(ITIMER_REAL, &it, nullptr);

  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  int p[2];
  if (pipe(p) != 0) return 2;
  int ops = 0, bad = 0;
  constexpr int kRounds = 2000;  // 5 patched operations per round per side
  auto ping = greenev::spawn([&] {
    for (int i = 0; i < kRounds; ++i) {
      int v = i, back = -1;
      if (write(sv[0], &v, sizeof v) != sizeof v) ++bad;
      if (read(sv[0], &back, sizeof back) != sizeof back || back != i + 1) ++bad;
      pollfd f{p[0], POLLIN, 0};
      if (poll(&f, 1, 1000) != 1) ++bad;
      char c;
      if (read(p[0], &c, 1) != 1) ++bad;
      if (i % 100 == 0 && usleep(200) != 0) ++bad;
      ops += 4;
    }
  });
  auto pong = greenev::spawn([&] {
    for (int i = 0; i < kRounds; ++i) {
      int v = -1;
      if (recv(sv[1], &v, sizeof v, MSG_WAITALL) != sizeof v || v != i) ++bad;
      ++v;
      if (send(sv[1], &v, sizeof v, 0) != sizeof v) ++bad;
      if (write(p[1], "x", 1) != 1) ++bad;
      ops += 3;
    }
  });
  ping.join();
  pong.join();
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  const bool ok = bad == 0 && ops >= 10000;
  std::printf("storm: %s ops=%d signals=%d bad=%d\n", ok ? "ok" : "FAILED", ops, g_signals.load(), bad);
  return ok ? 0 : 1;
}
