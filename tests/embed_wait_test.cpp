// Waiting on thread-world objects from fibers: std::future / std::shared_future and std::thread's
// end, without blocking the hub; plus the move-only function type the cross-thread posts use.
#include "test_support.hpp"

#include <greenev/thread_wait.hpp>

#include <array>
#include <atomic>
#include <future>
#include <memory>
#include <thread>

using namespace std::chrono_literals;

TEST_CASE("UniqueFunction holds move-only callables, inline or on the heap, and moves them") {
  using greenev::detail::UniqueFunction;
  auto p = std::make_unique<int>(5);
  UniqueFunction<int(int)> small = [p = std::move(p)](int x) { return *p + x; };
  CHECK(small(1) == 6);
  std::array<char, 200> big{};
  big[0] = 3;
  UniqueFunction<int(int)> large = [big, q = std::make_unique<int>(1)](int x) { return big[0] + *q + x; };
  CHECK(large(1) == 5);
  UniqueFunction<int(int)> moved = std::move(large);
  CHECK_FALSE(static_cast<bool>(large));
  CHECK(moved(0) == 4);
  small = std::move(moved);
  CHECK(small(0) == 4);
  std::function<int(int)> empty;
  UniqueFunction<int(int)> from_empty = empty;
  CHECK_FALSE(static_cast<bool>(from_empty));
  int (*nullfp)(int) = nullptr;
  CHECK_FALSE(static_cast<bool>(UniqueFunction<int(int)>(nullfp)));
  // Destruction releases what the callable holds, inline or not.
  auto sp = std::make_shared<int>(0);
  {
    UniqueFunction<void()> a = [sp] {};
    UniqueFunction<void()> b = [sp, big] {};
    CHECK(sp.use_count() == 3);
  }
  CHECK(sp.use_count() == 1);
}

TEST_CASE("wait(std::future) parks the fiber; other fibers keep running") {
  std::promise<int> pr;
  auto fut = pr.get_future();
  std::thread producer([&] {
    std::this_thread::sleep_for(60ms);
    pr.set_value(9);
  });
  int ticks = 0;
  auto ticker = greenev::spawn([&] {
    for (int i = 0; i < 10; ++i) {
      greenev::sleep(2ms);
      ++ticks;
    }
  });
  greenev::wait(fut);
  CHECK(fut.get() == 9);
  ticker.join();
  CHECK(ticks == 10);
  producer.join();
  test::require_hub_clean();
}

TEST_CASE("wait(future, d) times out with false and the future stays usable") {
  std::promise<void> pr;
  auto fut = pr.get_future();
  CHECK_FALSE(greenev::wait(fut, 20ms));
  CHECK(fut.valid());
  pr.set_value();
  CHECK(greenev::wait(fut, 1s));
  std::shared_future<void> sf = std::async(std::launch::async, [] { std::this_thread::sleep_for(5ms); }).share();
  greenev::wait(sf);
  std::future<int> invalid;
  CHECK_THROWS_AS(greenev::wait(invalid), std::future_error);
  test::require_hub_clean();
}

TEST_CASE("a fiber waiting on a future that never completes can be killed and timed out") {
  std::promise<int> never;
  auto fut = never.get_future();
  bool unwound = false;
  auto f = greenev::spawn([&] {
    struct G {
      bool& u;
      ~G() { u = true; }
    } g{unwound};
    greenev::wait(fut);
  });
  greenev::sleep(10ms);
  auto t0 = std::chrono::steady_clock::now();
  f.kill();
  CHECK(unwound);
  CHECK(test::ms_since(t0) < 3000);  // bounded by one slice (50 ms), generous for a loaded box
  {
    greenev::Timeout to(20ms);
    CHECK_THROWS_AS(greenev::wait(fut), greenev::TimeoutError);
  }
  never.set_value(1);  // the future was never consumed by the abandoned waits
  CHECK(fut.get() == 1);
  test::require_hub_clean();
}

TEST_CASE("a submit()'s future can be waited on from a fiber with greenev::wait") {
  std::promise<greenev::HubHandle> hp;
  std::thread other([&] {
    greenev::Event stop(greenev::cross_thread);
    hp.set_value(greenev::HubHandle::current());
    greenev::spawn([&] {
      greenev::sleep(100ms);
      stop.set();
    });
    greenev::run_until(stop);
  });
  auto h = hp.get_future().get();
  auto fut = h.submit([] { return 11; });
  greenev::wait(fut);
  CHECK(fut.get() == 11);
  other.join();
  test::require_hub_clean();
}

TEST_CASE("join(std::thread) parks the fiber until the thread ends") {
  std::atomic<bool> finished{false};
  std::thread t([&] {
    std::this_thread::sleep_for(80ms);
    finished = true;
  });
  int ticks = 0;
  auto ticker = greenev::spawn([&] {
    for (int i = 0; i < 10; ++i) {
      greenev::sleep(2ms);
      ++ticks;
    }
  });
  greenev::join(t);
  CHECK(finished);
  CHECK_FALSE(t.joinable());
  ticker.join();
  CHECK(ticks == 10);
  test::require_hub_clean();
}

TEST_CASE("join(std::thread, d) times out leaving it joinable; errors match std::thread::join") {
  std::atomic<bool> go{false};
  std::thread t([&] {
    while (!go) std::this_thread::sleep_for(1ms);
  });
  CHECK_FALSE(greenev::join(t, 20ms));
  CHECK(t.joinable());
  go = true;
  CHECK(greenev::join(t, 5s));
  CHECK_FALSE(t.joinable());
  try {
    greenev::join(t);
    FAIL("joined a non-joinable thread");
  } catch (const std::system_error& e) {
    CHECK(e.code() == std::errc::invalid_argument);
  }
  test::require_hub_clean();
}

TEST_CASE("join(std::thread) from a plain thread without a hub just blocks") {
  std::thread outer([] {
    std::thread inner([] { std::this_thread::sleep_for(5ms); });
    greenev::join(inner);
    CHECK_FALSE(inner.joinable());
  });
  outer.join();
}
