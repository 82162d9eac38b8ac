// Event and AsyncResult on one hub: set/clear/wait, timeouts, kill, FIFO wake-up, one-shot rules.
#include "test_support.hpp"

#include <greenev/event.hpp>

#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("Event::set wakes every waiter, in the order they started waiting") {
  greenev::Event ev;
  std::vector<int> order;
  std::vector<greenev::Fiber<void>> fs;
  for (int i = 0; i < 5; ++i) fs.push_back(greenev::spawn([&, i] {
    ev.wait();
    order.push_back(i);
  }));
  greenev::this_fiber::yield();
  CHECK(order.empty());
  CHECK(fs[0].wait_reason() == std::string("event_wait"));
  ev.set();
  for (auto& f : fs) f.join();
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
  test::require_hub_clean();
}

TEST_CASE("Event::wait returns at once while set, and blocks again after clear") {
  greenev::Event ev;
  ev.set();
  CHECK(ev.is_set());
  ev.wait();
  CHECK(ev.wait(0ms));
  ev.clear();
  CHECK_FALSE(ev.is_set());
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(ev.wait(20ms));
  CHECK(test::ms_since(t0) >= 19);
  test::require_hub_clean();
}

TEST_CASE("Event::wait(d) returns true when set before the deadline") {
  greenev::Event ev;
  auto setter = greenev::spawn([&] {
    greenev::sleep(5ms);
    ev.set();
  });
  auto t0 = std::chrono::steady_clock::now();
  CHECK(ev.wait(2s));
  CHECK(test::ms_since(t0) < 1000);
  setter.join();
  test::require_hub_clean();
}

TEST_CASE("a waiter woken by set returns true even if the event is cleared before it runs") {
  greenev::Event ev;
  bool got = false;
  auto f = greenev::spawn([&] { got = ev.wait(1s); });
  greenev::this_fiber::yield();
  ev.set();
  ev.clear();
  f.join();
  CHECK(got);
  test::require_hub_clean();
}

TEST_CASE("Event wait honours a Timeout scope and kill") {
  greenev::Event ev;
  {
    greenev::Timeout t(10ms);
    CHECK_THROWS_AS(ev.wait(), greenev::TimeoutError);
  }
  auto f = greenev::spawn([&] { ev.wait(); });
  greenev::this_fiber::yield();
  f.kill();
  CHECK(f.killed());
  ev.set();  // no waiter left: nothing dangles
  test::require_hub_clean();
}

TEST_CASE("waiting forever on an Event nobody can set raises LoopExit") {
  greenev::Event ev;
  CHECK_THROWS_AS(ev.wait(), greenev::LoopExit);
  test::require_hub_clean();
}

TEST_CASE("AsyncResult delivers the value to every getter") {
  greenev::AsyncResult<int> r;
  int a = 0, b = 0;
  auto fa = greenev::spawn([&] { a = r.get(); });
  auto fb = greenev::spawn([&] { b = r.get(); });
  greenev::this_fiber::yield();
  CHECK(fa.wait_reason() == std::string("async_result"));
  CHECK_FALSE(r.ready());
  r.set(42);
  fa.join();
  fb.join();
  CHECK(a == 42);
  CHECK(b == 42);
  CHECK(r.successful());
  CHECK(r.get() == 42);
  test::require_hub_clean();
}

TEST_CASE("AsyncResult rethrows the exception it was given") {
  greenev::AsyncResult<int> r;
  auto f = greenev::spawn([&] { return r.get(); });
  greenev::this_fiber::yield();
  r.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
  CHECK_THROWS_WITH_AS(f.join(), "boom", std::runtime_error);
  CHECK(r.ready());
  CHECK_FALSE(r.successful());
  CHECK(r.exception());
  test::require_hub_clean();
}

TEST_CASE("AsyncResult is one-shot: a second set throws logic_error and keeps the first value") {
  greenev::AsyncResult<std::string> r;
  r.set("first");
  CHECK_THROWS_AS(r.set("second"), std::logic_error);
  CHECK_THROWS_AS(r.set_exception(std::make_exception_ptr(std::runtime_error("x"))), std::logic_error);
  CHECK(r.get() == "first");
  test::require_hub_clean();
}

TEST_CASE("AsyncResult::get(d) returns nullopt on timeout, the value otherwise") {
  greenev::AsyncResult<int> r;
  CHECK_FALSE(r.get(10ms).has_value());
  auto f = greenev::spawn([r]() mutable {
    greenev::sleep(2ms);
    r.set(7);
  });
  auto v = r.get(2s);
  REQUIRE(v.has_value());
  CHECK(*v == 7);
  f.join();
  greenev::AsyncResult<void> done;
  CHECK_FALSE(done.get(1ms));
  done.set();
  CHECK(done.get(1ms));
  test::require_hub_clean();
}

TEST_CASE("killing a fiber blocked in AsyncResult::get leaves the result usable") {
  greenev::AsyncResult<int> r;
  auto f = greenev::spawn([&] { return r.get(); });
  greenev::this_fiber::yield();
  f.kill();
  CHECK(f.killed());
  r.set(1);
  CHECK(r.get() == 1);
  test::require_hub_clean();
}
