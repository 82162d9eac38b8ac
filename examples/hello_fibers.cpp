// examples/hello_fibers.cpp — fibers at work: many blocking-style workers on one thread.
//
// 10,000 "clients" each sleep a random 100-300 ms (standing in for a slow network call), a
// Timeout cuts one slow job short, a killed fiber unwinds, and a signal handler runs as a fiber.
// Everything runs on the main thread's hub; the wall time is that of the slowest sleeper.
#include <greenev/greenev.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <random>
#include <vector>

using namespace std::chrono_literals;

int main() {
  auto t0 = std::chrono::steady_clock::now();

  // 1. Ten thousand concurrent "requests".
  std::vector<greenev::Fiber<int>> clients;
  std::mt19937 rng(42);
  for (int i = 0; i < 10000; ++i) {
    auto delay = std::chrono::milliseconds(100 + rng() % 200);
    clients.push_back(greenev::spawn([i, delay] {
      greenev::sleep(delay);
      return i % 7;
    }));
  }
  long sum = 0;
  for (auto& c : clients) sum += c.join();

  // 2. A job that takes too long is cut short by a Timeout.
  auto slow = greenev::with_timeout(50ms, [] {
    greenev::sleep(10s);
    return 1;
  });

  // 3. A killed fiber unwinds its stack (RAII runs) and never finishes its work.
  auto victim = greenev::spawn(greenev::SpawnOptions{"victim"}, [] {
    struct Note {
      ~Note() { std::printf("  victim: unwound by kill()\n"); }
    } note;
    greenev::sleep(1h);
  });
  greenev::sleep(1ms);
  victim.kill();

  // 4. A signal handler that runs as a fiber.
  int got = 0;
  greenev::SignalHandler on_usr1(SIGUSR1, [&] { got = SIGUSR1; });
  std::raise(SIGUSR1);
  greenev::sleep(10ms);

  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  auto st = greenev::hub_stats();
  std::printf("10000 fibers slept 100-300 ms each: checksum %ld\n", sum);
  std::printf("slow job under a 50 ms timeout: %s\n", slow ? "finished" : "timed out");
  std::printf("signal handled in a fiber: %s\n", got == SIGUSR1 ? "yes" : "no");
  std::printf("total %.0f ms on one thread, %llu context switches, %zu fibers left\n", ms,
              static_cast<unsigned long long>(st.switches), st.fibers_alive);
  long expected = 0;
  for (int i = 0; i < 10000; ++i) expected += i % 7;
  return sum == expected && !slow && got == SIGUSR1 && st.fibers_alive == 0 ? 0 : 1;
}
