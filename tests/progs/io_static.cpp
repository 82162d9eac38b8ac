// io_static — linked against greenev_static: the patch objects must not be dropped by the linker,
// so read()/write()/usleep() in fibers still yield. 50 fibers each sleep 50 ms (usleep) and then
// ping a pipe another fiber reads: done in ~50 ms only if the calls cooperate.
// Prints "static: ok ..." and exits 0.
#include <greenev/greenev.hpp>
#include <greenev/patches.hpp>

#include <chrono>
#include <cstdio>
#include <unistd.h>
#include <vector>

int main() {
  if (!greenev::patches::enabled()) return 2;
  int p[2];
  if (pipe(p) != 0) return 2;
  const auto s0 = greenev::hub_stats().switches;
  const auto t0 = std::chrono::steady_clock::now();
  int got = 0;
  auto reader = greenev::spawn([&] {
    char c;
    while (got < 50 && read(p[0], &c, 1) == 1) ++got;
  });
  std::vector<greenev::Fiber<void>> fs;
  for (int i = 0; i < 50; ++i)
    fs.push_back(greenev::spawn([&] {
      usleep(50'000);
      if (write(p[1], "x", 1) != 1) std::puts("write failed");
    }));
  for (auto& f : fs) f.join();
  reader.join();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const auto sw = greenev::hub_stats().switches - s0;
  const bool ok = got == 50 && ms < 1000 && sw > 50;
  std::printf("static: %s got=%d ms=%.1f switches=%llu\n", ok ? "ok" : "FAILED", got, ms,
              static_cast<unsigned long long>(sw));
  return ok ? 0 : 1;
}
