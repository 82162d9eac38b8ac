// Child program: a detached fiber throws; others keep running and main exits 0.
// Expected stderr: "greenev: fiber 'doomed' (id N) died with an unhandled exception: kaboom".
#include <greenev/greenev.hpp>

#include <cstdio>
#include <stdexcept>

int main() {
  int ticks = 0;
  auto ticker = greenev::spawn([&] {
    for (int i = 0; i < 5; ++i) {
      greenev::sleep(std::chrono::milliseconds(2));
      ++ticks;
    }
  });
  greenev::spawn(greenev::SpawnOptions{"doomed"}, [] {
    greenev::sleep(std::chrono::milliseconds(1));
    throw std::runtime_error("kaboom");
  }).detach();
  ticker.join();
  std::printf("ticks %d\n", ticks);
  return ticks == 5 ? 0 : 1;
}
