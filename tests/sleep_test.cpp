// sleep and timers on the hub's loop.
#include "test_support.hpp"

#include <vector>

using namespace std::chrono_literals;

TEST_CASE("10,000 fibers sleeping 200 ms sleep concurrently, not one after another") {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<greenev::Fiber<void>> fs;
  fs.reserve(10000);
  for (int i = 0; i < 10000; ++i) fs.push_back(greenev::spawn([] { greenev::sleep(200ms); }));
  for (auto& f : fs) f.join();
  double ms = test::ms_since(t0);
  MESSAGE("10k x 200 ms sleepers took ", ms, " ms");
  CHECK(ms >= 199);
  CHECK(ms < 20000);  // one after another: 2,000 s; the speed itself is a benchmark's business
  test::require_hub_clean();
}

TEST_CASE("sleepers wake in deadline order") {
  std::vector<int> order;
  std::vector<greenev::Fiber<void>> fs;
  for (int d : {30, 10, 20})
    fs.push_back(greenev::spawn([&order, d] {
      greenev::sleep(std::chrono::milliseconds(d));
      order.push_back(d);
    }));
  for (auto& f : fs) f.join();
  CHECK(order == std::vector<int>{10, 20, 30});
  test::require_hub_clean();
}

TEST_CASE("sleep_until a steady_clock time point, and sleep(0) just yields") {
  auto until = std::chrono::steady_clock::now() + 20ms;
  greenev::sleep_until(until);
  CHECK(std::chrono::steady_clock::now() >= until);
  bool other = false;
  auto f = greenev::spawn([&] { other = true; });
  greenev::sleep(0ms);
  CHECK(other);
  f.join();
  test::require_hub_clean();
}

TEST_CASE("a busy fiber that keeps yielding does not starve timers") {
  bool stop = false;
  auto spinner = greenev::spawn([&] {
    while (!stop) greenev::this_fiber::yield();
  });
  auto t0 = std::chrono::steady_clock::now();
  greenev::sleep(20ms);
  stop = true;
  spinner.join();
  CHECK(test::ms_since(t0) < 500);
  test::require_hub_clean();
}
