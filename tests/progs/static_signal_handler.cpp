// Child program: a static SignalHandler outlives the main thread's hub (a thread_local, destroyed
// before static destructors run). Expected: the handler works, exit 0, and no use of the freed
// hub at exit (ASan reports one as heap-use-after-free).
#include <greenev/greenev.hpp>

#include <csignal>
#include <cstdio>

static int g_hits = 0;
static greenev::Event g_got;
static greenev::SignalHandler g_usr1(SIGUSR1, [] {
  ++g_hits;
  g_got.set();
});

int main() {
  std::raise(SIGUSR1);
  g_got.wait(std::chrono::seconds(5));
  std::printf("hits %d\n", g_hits);
  return 0;
}
