// greenev::Timeout scopes and with_timeout.
#include "test_support.hpp"

using namespace std::chrono_literals;

TEST_CASE("a suspension past a Timeout's deadline throws TimeoutError for that scope") {
  auto t0 = std::chrono::steady_clock::now();
  bool caught = false;
  {
    greenev::Timeout t(20ms);
    try {
      greenev::sleep(10s);
    } catch (const greenev::TimeoutError& e) {
      caught = e.is(t);
      CHECK(t.expired());
    }
  }
  CHECK(caught);
  CHECK(test::ms_since(t0) >= 19);
  CHECK(test::ms_since(t0) < 1000);
  test::require_hub_clean();
}

TEST_CASE("nested Timeouts: the earliest deadline wins, whichever scope holds it") {
  greenev::Timeout outer(30ms);
  try {
    greenev::Timeout inner(5s);
    greenev::sleep(10s);
    FAIL("no timeout");
  } catch (const greenev::TimeoutError& e) {
    CHECK(e.is(outer));
  }
  {
    greenev::Timeout inner2(10ms);
    try {
      greenev::sleep(10s);
    } catch (const greenev::TimeoutError& e) {
      CHECK(e.is(inner2));
      CHECK_FALSE(e.is(outer));
    }
  }
  test::require_hub_clean();
}

TEST_CASE("a Timeout fires once; later suspensions in the scope are not cut short") {
  greenev::Timeout t(10ms);
  CHECK_THROWS_AS(greenev::sleep(1s), greenev::TimeoutError);
  auto t0 = std::chrono::steady_clock::now();
  greenev::sleep(20ms);
  CHECK(test::ms_since(t0) >= 19);
  test::require_hub_clean();
}

TEST_CASE("a Timeout that does not expire changes nothing, and cancel() disarms one") {
  {
    greenev::Timeout t(1s);
    greenev::sleep(5ms);
    CHECK_FALSE(t.expired());
  }
  greenev::Timeout c(5ms);
  c.cancel();
  greenev::sleep(20ms);
  test::require_hub_clean();
}

TEST_CASE("a Timeout bounds join() and yield(), and works inside a spawned fiber") {
  auto slow = greenev::spawn([] { greenev::sleep(200ms); return 1; });
  auto r = greenev::spawn([&] {
    greenev::Timeout t(10ms);
    try {
      slow.join();
      return false;
    } catch (const greenev::TimeoutError&) {
      return true;
    }
  });
  CHECK(r.join());
  CHECK(slow.join() == 1);
  {
    greenev::Timeout t(1ms);
    auto spin_until = std::chrono::steady_clock::now() + 3ms;
    while (std::chrono::steady_clock::now() < spin_until) {
    }
    CHECK_THROWS_AS(greenev::this_fiber::yield(), greenev::TimeoutError);  // expired while running
  }
  test::require_hub_clean();
}

TEST_CASE("with_timeout returns the value, or nullopt when only its own deadline hit") {
  auto v = greenev::with_timeout(1s, [] { return 42; });
  CHECK(v == std::optional<int>(42));
  auto n = greenev::with_timeout(10ms, [] { greenev::sleep(1s); return 1; });
  CHECK_FALSE(n.has_value());
  CHECK_FALSE(greenev::with_timeout(10ms, [] { greenev::sleep(1s); }));
  CHECK(greenev::with_timeout(1s, [] { greenev::sleep(1ms); }));
  // The outer scope's expiry propagates through an inner with_timeout.
  greenev::Timeout outer(10ms);
  CHECK_THROWS_AS(greenev::with_timeout(5s, [] { greenev::sleep(1s); }), greenev::TimeoutError);
  test::require_hub_clean();
}
