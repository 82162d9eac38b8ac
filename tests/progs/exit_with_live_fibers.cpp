// Child program: main returns while a fiber still sleeps. Expected: exit 0 and a report naming
// the fiber ("greenev: hub exiting with 1 live fiber(s)" ... "'sleeper'" ... "sleep").
#include <greenev/greenev.hpp>

int main() {
  greenev::spawn(greenev::SpawnOptions{"sleeper"}, [] { greenev::sleep(std::chrono::hours(1)); }).detach();
  greenev::sleep(std::chrono::milliseconds(1));
  return 0;
}
