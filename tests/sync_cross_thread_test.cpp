// Event and AsyncResult set from another OS thread (also run under TSan): the waiting fiber
// wakes, the hub does not report LoopExit meanwhile, and values/exceptions arrive intact.
#include "test_support.hpp"

#include <greenev/event.hpp>
#include <greenev/wait.hpp>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("a cross_thread Event set from a std::thread wakes a waiting fiber") {
  greenev::Event ev(greenev::cross_thread);
  std::thread t([&] {
    std::this_thread::sleep_for(20ms);
    ev.set();
  });
  ev.wait();  // main waits with nothing else on the hub: no LoopExit
  CHECK(ev.is_set());
  t.join();
  test::require_hub_clean();
}

TEST_CASE("a cross_thread Event wakes several fibers and wait(d) still times out") {
  greenev::Event ev(greenev::cross_thread);
  CHECK_FALSE(ev.wait(5ms));
  int woke = 0;
  std::vector<greenev::Fiber<void>> fs;
  for (int i = 0; i < 10; ++i) fs.push_back(greenev::spawn([&] {
    ev.wait();
    ++woke;
  }));
  greenev::this_fiber::yield();
  std::thread t([&] { ev.set(); });
  for (auto& f : fs) f.join();
  CHECK(woke == 10);
  t.join();
  test::require_hub_clean();
}

TEST_CASE("an AsyncResult set from a std::thread delivers its value to the waiting fiber") {
  greenev::AsyncResult<std::string> r(greenev::cross_thread);
  std::thread t([r]() mutable {
    std::this_thread::sleep_for(10ms);
    r.set(std::string(1000, 'x'));
  });
  CHECK(r.get() == std::string(1000, 'x'));
  t.join();
  test::require_hub_clean();
}

TEST_CASE("an AsyncResult exception set from a std::thread is rethrown by get") {
  greenev::AsyncResult<int> r(greenev::cross_thread);
  std::thread t([r]() mutable { r.set_exception(std::make_exception_ptr(std::runtime_error("far"))); });
  CHECK_THROWS_WITH_AS(r.get(), "far", std::runtime_error);
  t.join();
  test::require_hub_clean();
}

TEST_CASE("many threads racing to set one AsyncResult: exactly one wins") {
  greenev::AsyncResult<int> r(greenev::cross_thread);
  std::atomic<int> wins{0}, losses{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i) ts.emplace_back([r, i, &wins, &losses]() mutable {
    try {
      r.set(i);
      ++wins;
    } catch (const std::logic_error&) {
      ++losses;
    }
  });
  int v = r.get();
  for (auto& t : ts) t.join();
  CHECK(wins == 1);
  CHECK(losses == 7);
  CHECK(v >= 0);
  CHECK(v < 8);
  test::require_hub_clean();
}

TEST_CASE("round trips between a fiber and a thread through cross_thread results do not lose wake-ups") {
  constexpr int kRounds = 200;
  for (int i = 0; i < kRounds; ++i) {
    greenev::AsyncResult<int> req(greenev::cross_thread);
    std::thread t([req, i]() mutable { req.set(i); });
    CHECK(req.get() == i);
    t.join();
  }
  test::require_hub_clean();
}

TEST_CASE("wait_any over cross_thread objects keeps the hub alive until a thread sets one") {
  greenev::Event a(greenev::cross_thread);
  greenev::AsyncResult<int> b(greenev::cross_thread);
  std::thread t([b]() mutable {
    std::this_thread::sleep_for(10ms);
    b.set(5);
  });
  CHECK(greenev::wait_any(a, b) == 1);
  t.join();
  test::require_hub_clean();
}

TEST_CASE("an Event destroyed right after a cross-thread set does not crash the late wake-up") {
  for (int i = 0; i < 50; ++i) {
    auto ev = std::make_unique<greenev::Event>(greenev::cross_thread);
    std::thread t([e = ev.get()] { e->set(); });
    t.join();  // the set() call has returned; its wake-up may still be queued on the hub
    CHECK(ev->is_set());
    ev.reset();
    greenev::this_fiber::yield();
    greenev::sleep(1ms);  // let the hub drain its inbox
  }
  test::require_hub_clean();
}
