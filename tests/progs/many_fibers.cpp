// Child program: N fibers (default 40,000) all started and parked at once, past the ~32k guarded
// stacks vm.max_map_count allows. Expected: all finish, one notice about slab stacks, exit 0.
// Main waits for "all started" by counting, not by sleeping a guessed time: on a loaded box, or
// with the fibers spawned by main queued ahead of main's timer wake-up only for a bounded streak
// (runtime/core/hub.hpp), a fixed sleep does not guarantee it.
#include <greenev/greenev.hpp>

#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 40000;
  std::vector<greenev::Fiber<int>> fs;
  fs.reserve(n);
  int started = 0;
  greenev::Event go;
  for (int i = 0; i < n; ++i)
    fs.push_back(greenev::spawn([&started, &go, i] {
      ++started;
      go.wait();
      return i;
    }));
  for (int k = 0; k < 6000 && started < n; ++k) greenev::sleep(std::chrono::milliseconds(10));  // <= 60 s
  std::printf("started %d\n", started);
  go.set();
  long long sum = 0;
  for (auto& f : fs) sum += f.join();
  std::printf("finished %d sum %lld alive %zu\n", n, sum, greenev::hub_stats().fibers_alive);
  return sum == static_cast<long long>(n) * (n - 1) / 2 ? 0 : 1;
}
