// Child program for diag_test: does some work (switches, sleeps, a thread-pool job) and prints
// greenev::metrics::write_prometheus() for the format check (prometheus_client's parser).
#include <greenev/greenev.hpp>

#include <chrono>
#include <iostream>

int main() {
  auto f = greenev::spawn([] {
    for (int i = 0; i < 5; ++i) greenev::sleep(std::chrono::milliseconds(1));
  });
  f.join();
  greenev::run_blocking([] { return 1; });
  greenev::metrics::write_prometheus(std::cout);
  return 0;
}
