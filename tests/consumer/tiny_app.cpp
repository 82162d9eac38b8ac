// The pkg-config consumer (pkg_config_test.sh): a fiber that sleeps through a patched libc call
// (usleep) while another runs, then hands back a value. Small on purpose: compiled three times.
#include <greenev/fiber.hpp>

#include <cstdio>
#include <unistd.h>

int main() {
  int ticks = 0;
  auto sleeper = greenev::spawn([] {
    ::usleep(20000);  // patched: parks this fiber, the hub runs the ticker meanwhile
    return 42;
  });
  auto ticker = greenev::spawn([&] {
    while (!sleeper.ready()) {
      ++ticks;
      ::usleep(1000);
    }
  });
  const int v = sleeper.join();
  ticker.join();
  std::printf("tiny_app: %d after %d ticks\n", v, ticks);
  return v == 42 && ticks > 0 ? 0 : 1;
}
