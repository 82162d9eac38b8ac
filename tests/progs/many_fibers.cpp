// Child program: N fibers (default 40,000) all started and sleeping at once, past the ~32k guarded
// stacks vm.max_map_count allows. Expected: all finish, one notice about slab stacks, exit 0.
#include <greenev/greenev.hpp>

#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 40000;
  std::vector<greenev::Fiber<int>> fs;
  fs.reserve(n);
  int started = 0;
  for (int i = 0; i < n; ++i)
    fs.push_back(greenev::spawn([&started, i] {
      ++started;
      greenev::sleep(std::chrono::milliseconds(300));
      return i;
    }));
  greenev::sleep(std::chrono::milliseconds(100));
  std::printf("started %d\n", started);
  long long sum = 0;
  for (auto& f : fs) sum += f.join();
  std::printf("finished %d sum %lld alive %zu\n", n, sum, greenev::hub_stats().fibers_alive);
  return sum == static_cast<long long>(n) * (n - 1) / 2 ? 0 : 1;
}
