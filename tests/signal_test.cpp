// Signal handlers run as fibers on the hub, not in signal context.
#include "test_support.hpp"

#include <csignal>

using namespace std::chrono_literals;

TEST_CASE("a SignalHandler runs as a fiber that may block") {
  std::uint64_t handler_fiber = 0;
  int calls = 0;
  {
    greenev::SignalHandler h(SIGUSR1, [&] {
      handler_fiber = greenev::this_fiber::id();
      greenev::sleep(1ms);  // blocking is fine: this is an ordinary fiber
      ++calls;
    });
    ::raise(SIGUSR1);
    auto t0 = std::chrono::steady_clock::now();
    while (calls == 0 && test::ms_since(t0) < 2000) greenev::sleep(1ms);
  }
  CHECK(calls == 1);
  CHECK(handler_fiber != 0);
  test::require_hub_clean();
}

TEST_CASE("a signal interrupts nothing: a sleeping fiber keeps sleeping its full time") {
  int calls = 0;
  {
  greenev::SignalHandler h(SIGUSR2, [&] { ++calls; });
  auto sleeper = greenev::spawn([] {
    auto t0 = std::chrono::steady_clock::now();
    greenev::sleep(30ms);
    return test::ms_since(t0);
  });
  greenev::sleep(5ms);
  ::raise(SIGUSR2);
  CHECK(sleeper.join() >= 29);
  CHECK(calls == 1);
  }
  test::require_hub_clean();
}
