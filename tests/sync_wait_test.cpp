// wait_any / wait_all over fibers, Events and AsyncResults: returns as soon as the condition
// holds, timeouts, raise_error, ranges, and no waiter left behind.
#include "test_support.hpp"

#include <greenev/wait.hpp>

#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("wait_any returns as soon as one object is ready") {
  greenev::Event ev;
  greenev::AsyncResult<int> r;
  auto slow = greenev::spawn([] { greenev::sleep(200ms); });
  auto setter = greenev::spawn([&] {
    greenev::sleep(5ms);
    r.set(1);
  });
  auto t0 = std::chrono::steady_clock::now();
  CHECK(greenev::wait_any(slow, ev, r) == 2);
  CHECK(test::ms_since(t0) < 150);
  CHECK_FALSE(slow.ready());
  ev.set();
  CHECK(greenev::wait_any(slow, ev, r) == 1);  // nothing consumed: already-ready objects count
  slow.kill();
  setter.join();
  test::require_hub_clean();
}

TEST_CASE("wait_any reports a fiber that finished while we waited") {
  greenev::Event never;
  auto f = greenev::spawn([] { greenev::sleep(2ms); });
  CHECK(greenev::wait_any(never, f) == 1);
  test::require_hub_clean();
}

TEST_CASE("wait_any counts an Event that was set and cleared while we waited") {
  greenev::Event ev;
  greenev::Event other;
  auto pulse = greenev::spawn([&] {
    ev.set();
    ev.clear();
  });
  CHECK(greenev::wait_any(other, ev) == 1);
  pulse.join();
  test::require_hub_clean();
}

TEST_CASE("wait_any with a duration returns nullopt on timeout and leaves no waiter behind") {
  greenev::Event a, b;
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(greenev::wait_any(15ms, a, b).has_value());
  CHECK(test::ms_since(t0) >= 14);
  a.set();  // would touch a dangling waiter if one were left linked
  CHECK(greenev::wait_any(1ms, a, b) == 0u);
  test::require_hub_clean();
}

TEST_CASE("wait_all waits for every object, over a range too") {
  std::vector<greenev::Fiber<int>> fs;
  for (int i = 0; i < 10; ++i) fs.push_back(greenev::spawn([i] {
    greenev::sleep(std::chrono::milliseconds(i));
    return i;
  }));
  greenev::wait_all(fs);
  for (auto& f : fs) CHECK(f.ready());
  std::vector<greenev::Fiber<void>> slow{greenev::spawn([] { greenev::sleep(100ms); })};
  CHECK_FALSE(greenev::wait_all(5ms, slow));
  CHECK(greenev::wait_any(slow) == 0);
  greenev::Event ev;
  greenev::AsyncResult<void> r;
  auto s = greenev::spawn([&] {
    ev.set();
    greenev::sleep(1ms);
    r.set();
  });
  greenev::wait_all(ev, r, s);
  CHECK(r.ready());
  test::require_hub_clean();
}

TEST_CASE("wait_all with raise_error rethrows the first failure as soon as it happens") {
  auto slow = greenev::spawn([] { greenev::sleep(5s); });
  auto bad = greenev::spawn([] {
    greenev::sleep(2ms);
    throw std::runtime_error("failed");
  });
  auto t0 = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_AS(greenev::wait_all(greenev::raise_error, slow, bad), "failed", std::runtime_error);
  CHECK(test::ms_since(t0) < 1000);
  slow.kill();
  greenev::AsyncResult<int> r;
  r.set_exception(std::make_exception_ptr(std::logic_error("res")));
  CHECK_THROWS_AS(greenev::wait_all(greenev::raise_error, r), std::logic_error);
  greenev::wait_all(r);  // without raise_error: a failed result is just "ready"
  test::require_hub_clean();
}

TEST_CASE("wait_any is interrupted by kill and by a Timeout scope") {
  greenev::Event ev;
  auto f = greenev::spawn([&] { greenev::wait_any(ev); });
  greenev::this_fiber::yield();
  CHECK(f.wait_reason() == std::string("wait_any"));
  f.kill();
  CHECK(f.killed());
  {
    greenev::Timeout t(5ms);
    CHECK_THROWS_AS(greenev::wait_all(ev), greenev::TimeoutError);
  }
  ev.set();
  test::require_hub_clean();
}
