// The smallest program against an installed greenev: spawn a fiber, let it sleep, join its value.
// Built by tests/consumer/run_consumer_test.cmake through find_package(greenev) and pkg-config.
#include <greenev/greenev.hpp>

#include <chrono>

int main() {
  auto f = greenev::spawn([] {
    greenev::sleep(std::chrono::milliseconds(10));
    return 42;
  });
  return f.join() == 42 ? 0 : 1;
}
