// HubHandle::post / submit / submit_async, HubThread and run()/run_until(): work handed across
// threads with move-only callables, results and exceptions coming back, and clean stops.
#include "test_support.hpp"

#include <greenev/hub_thread.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>

using namespace std::chrono_literals;

TEST_CASE("post accepts a move-only callable and names the fiber from SpawnOptions") {
  greenev::HubThread ht("post-test");
  auto owned = std::make_unique<int>(41);
  std::promise<std::string> seen;
  auto fut = seen.get_future();
  CHECK(ht.handle().post(greenev::SpawnOptions{"posted-one", 0},
                         [p = std::move(owned), s = std::move(seen)]() mutable {
                           s.set_value(greenev::this_fiber::name() + ":" + std::to_string(*p + 1));
                         }));
  CHECK(fut.get() == "posted-one:42");
}

TEST_CASE("the old post(std::function) call shape still compiles and runs") {
  greenev::HubThread ht;
  std::atomic<int> n{0};
  std::function<void()> fn = [&] { ++n; };
  CHECK(ht.post(fn));
  ht.submit([] {}).get();  // the inbox is FIFO: fn has run
  CHECK(n == 1);
  ht.stop();
  CHECK_FALSE(ht.post(fn));  // stopped: refused
  CHECK(n == 1);
}

TEST_CASE("post of an empty function throws std::invalid_argument") {
  greenev::HubThread ht;
  std::function<void()> empty;
  CHECK_THROWS_AS(ht.post(empty), std::invalid_argument);
}

TEST_CASE("submit returns the value through a std::future, from a plain thread") {
  greenev::HubThread ht;
  auto fut = ht.submit([] {
    greenev::sleep(1ms);  // a real fiber: it may suspend
    return std::make_unique<int>(7);  // move-only result
  });
  CHECK(*fut.get() == 7);
}

TEST_CASE("submit propagates the function's exception") {
  greenev::HubThread ht;
  auto fut = ht.submit([]() -> int { throw std::runtime_error("boom on the hub"); });
  CHECK_THROWS_WITH_AS(fut.get(), "boom on the hub", std::runtime_error);
}

TEST_CASE("submit to a stopped hub gives HubStopped, not a hang") {
  greenev::HubThread ht;
  auto h = ht.handle();
  ht.stop();
  CHECK_FALSE(h.alive());
  auto fut = h.submit([] { return 1; });
  CHECK_THROWS_AS(fut.get(), greenev::HubStopped);
}

TEST_CASE("submit to a hub whose thread exited gives HubStopped") {
  std::optional<greenev::HubHandle> h;
  std::thread t([&] { h = greenev::HubHandle::current(); });
  t.join();
  CHECK_THROWS_AS(h->submit([] { return 1; }).get(), greenev::HubStopped);
}

TEST_CASE("a submitted fiber killed by stop() gives FiberKilled; its RAII ran") {
  auto ht = std::make_unique<greenev::HubThread>();
  std::atomic<bool> unwound{false}, started{false};
  auto fut = ht->submit([&] {
    struct Guard {
      std::atomic<bool>& u;
      ~Guard() { u = true; }
    } g{unwound};
    started = true;
    greenev::sleep(1h);
    return 0;
  });
  while (!started) std::this_thread::sleep_for(1ms);
  ht->stop();
  CHECK(unwound);
  CHECK_THROWS_AS(fut.get(), greenev::FiberKilled);
}

TEST_CASE("a fiber on another hub waits on submit_async without blocking its own hub") {
  greenev::HubThread worker("worker");
  std::atomic<int> ticks{0};
  auto ticker = greenev::spawn([&] {
    for (int i = 0; i < 5; ++i) {
      greenev::sleep(2ms);
      ++ticks;
    }
  });
  auto res = worker.submit_async([] {
    greenev::sleep(30ms);
    return std::string("from worker");
  });
  CHECK(res.cross_thread());
  CHECK(res.get() == "from worker");  // parks main; the ticker runs meanwhile
  CHECK(ticks == 5);
  ticker.join();
  auto bad = worker.submit_async([]() -> int { throw std::logic_error("bad input"); });
  CHECK_THROWS_AS(bad.get(), std::logic_error);
  test::require_hub_clean();
}

TEST_CASE("submit_async to a stopped hub is ready at once with HubStopped") {
  greenev::HubThread ht;
  auto h = ht.handle();
  ht.stop();
  auto r = h.submit_async([] { return 3; });
  CHECK(r.ready());
  CHECK_THROWS_AS(r.get(), greenev::HubStopped);
  test::require_hub_clean();
}

TEST_CASE("HubThread::stop kills and unwinds every live fiber, and the destructor joins") {
  std::atomic<int> unwound{0};
  {
    greenev::HubThread ht("killer");
    for (int i = 0; i < 10; ++i)
      ht.post([&] {
        struct G {
          std::atomic<int>& u;
          ~G() { ++u; }
        } g{unwound};
        greenev::Event never;
        never.wait();
      });
    auto probe = ht.submit([] {});  // FIFO inbox: once it ran, the ten have started
    probe.get();
    // No stop(): the destructor stops and joins.
  }
  CHECK(unwound == 10);
}

TEST_CASE("HubThread::stop from a fiber of another hub parks instead of blocking that hub") {
  auto ht = std::make_unique<greenev::HubThread>();
  ht->post([] {
    // Unwinding this fiber takes a while: stop() is in progress for ~50 ms.
    struct Slow {
      ~Slow() { std::this_thread::sleep_for(50ms); }
    } s;
    greenev::sleep(1h);
  });
  ht->submit([] {}).get();
  int ticks = 0;
  auto ticker = greenev::spawn([&] {
    for (;;) {
      greenev::sleep(1ms);
      ++ticks;
    }
  });
  ht->stop();
  CHECK_FALSE(ht->running());
  CHECK(ticks > 0);  // this hub kept running while stop() waited
  ticker.kill();
  test::require_hub_clean();
}

TEST_CASE("stop() on the hub's own thread is a logic_error") {
  greenev::HubThread ht;
  greenev::HubThread* p = &ht;
  auto fut = ht.submit([p] { p->stop(); });
  CHECK_THROWS_AS(fut.get(), std::logic_error);
}

TEST_CASE("run() serves a thread until its fibers are done; run_until(ev) until ev is set") {
  std::atomic<int> done{0};
  std::thread t([&] {
    for (int i = 0; i < 3; ++i)
      greenev::spawn([&] {
        greenev::sleep(5ms);
        ++done;
      });
    greenev::run();
    if (done == 3 && greenev::hub_stats().fibers_alive == 0) ++done;
  });
  t.join();
  CHECK(done == 4);

  std::promise<greenev::HubHandle> hp;
  std::promise<greenev::Event*> ep;
  std::atomic<int> served{0};
  std::thread s([&] {
    greenev::Event stop(greenev::cross_thread);
    hp.set_value(greenev::HubHandle::current());
    ep.set_value(&stop);
    greenev::run_until(stop);
  });
  auto h = hp.get_future().get();
  greenev::Event* stop = ep.get_future().get();
  for (int i = 0; i < 5; ++i) h.submit([&] { ++served; }).get();  // served while nothing else runs
  stop->set();
  s.join();
  CHECK(served == 5);
}

TEST_CASE("run() inside a fiber is a logic_error naming the fiber") {
  auto f = greenev::spawn(greenev::SpawnOptions{"runner", 0}, [] { greenev::run(); });
  CHECK_THROWS_WITH_AS(f.join(), doctest::Contains("'runner'"), std::logic_error);
  test::require_hub_clean();
}

TEST_CASE("post SpawnOptions with an impossible stack size throws std::invalid_argument") {
  greenev::HubThread ht;
  CHECK_THROWS_AS(ht.handle().post(greenev::SpawnOptions{"x", std::size_t{1} << 62}, [] {}),
                  std::invalid_argument);
}
