// ThreadQueue<T>: one bounded queue shared by plain threads (which block) and fibers on any hub
// (which park): every item delivered exactly once, close(), timeouts, kills.
#include "test_support.hpp"

#include <atomic>
#include <memory>
#include <numeric>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("ThreadQueue: plain threads, many producers and consumers, every item exactly once") {
  greenev::ThreadQueue<int> q(8);
  constexpr int kProducers = 4, kPer = 2000, kConsumers = 3;
  std::vector<std::atomic<int>> seen(kProducers * kPer);
  std::vector<std::thread> ts;
  for (int p = 0; p < kProducers; ++p)
    ts.emplace_back([&, p] {
      for (int i = 0; i < kPer; ++i) q.put(p * kPer + i);
    });
  std::vector<std::thread> cs;
  for (int c = 0; c < kConsumers; ++c)
    cs.emplace_back([&] {
      try {
        for (;;) ++seen[q.get()];
      } catch (const greenev::ChannelClosed&) {
      }
    });
  for (auto& t : ts) t.join();
  while (q.size() > 0) std::this_thread::sleep_for(1ms);
  q.close();
  for (auto& t : cs) t.join();
  int once = 0;
  for (auto& s : seen) once += s == 1;
  CHECK(once == kProducers * kPer);
}

TEST_CASE("ThreadQueue: fibers on two hubs and plain threads share one queue both ways") {
  greenev::ThreadQueue<int> to_fibers(4), to_threads(4);
  greenev::HubThread a("hub-a"), b("hub-b");
  constexpr int kItems = 3000;
  std::atomic<long> fiber_sum{0};
  auto relay = [&] {  // per hub: 3 fibers take from to_fibers and pass the value on to_threads
    std::vector<greenev::Fiber<void>> fs;
    for (int i = 0; i < 3; ++i)
      fs.push_back(greenev::spawn([&] {
        try {
          for (;;) {
            int v = to_fibers.get();
            fiber_sum += v;
            to_threads.put(v);
          }
        } catch (const greenev::ChannelClosed&) {
        }
      }));
    for (auto& f : fs) f.join();
  };
  auto ra = a.submit(relay), rb = b.submit(relay);
  std::thread producer([&] {
    for (int i = 1; i <= kItems; ++i) to_fibers.put(i);
  });
  long thread_sum = 0;
  for (int i = 0; i < kItems; ++i) thread_sum += to_threads.get();
  producer.join();
  to_fibers.close();
  ra.get();
  rb.get();
  const long expect = long(kItems) * (kItems + 1) / 2;
  CHECK(fiber_sum == expect);
  CHECK(thread_sum == expect);
}

TEST_CASE("ThreadQueue: a fiber blocked on a full queue parks; its hub keeps running") {
  greenev::ThreadQueue<int> q(1);
  q.put(1);
  int ticks = 0;
  auto ticker = greenev::spawn([&] {
    for (int i = 0; i < 5; ++i) {
      greenev::sleep(2ms);
      ++ticks;
    }
  });
  std::thread consumer([&] {
    std::this_thread::sleep_for(50ms);
    CHECK(q.get() == 1);
  });
  q.put(2);  // main parks until the consumer thread frees the slot
  ticker.join();
  CHECK(ticks == 5);
  consumer.join();
  CHECK(q.try_get() == 2);
  test::require_hub_clean();
}

TEST_CASE("ThreadQueue: close() wakes blocked threads and fibers; buffered items still drain") {
  greenev::ThreadQueue<int> q(2);
  std::atomic<int> closed_seen{0};
  std::thread t([&] {
    try {
      q.get();
    } catch (const greenev::ChannelClosed&) {
      ++closed_seen;
    }
  });
  auto f = greenev::spawn([&] {
    try {
      q.get();
    } catch (const greenev::ChannelClosed&) {
      ++closed_seen;
    }
  });
  greenev::sleep(30ms);
  q.close();
  f.join();
  t.join();
  CHECK(closed_seen == 2);
  CHECK(q.closed());
  CHECK_THROWS_AS(q.put(1), greenev::ChannelClosed);
  greenev::ThreadQueue<int> r(2);
  r.put(7);
  r.close();
  CHECK(r.get() == 7);  // drains first
  CHECK_THROWS_AS(r.get(), greenev::ChannelClosed);
  CHECK_FALSE(r.get(1ms).has_value());
  test::require_hub_clean();
}

TEST_CASE("ThreadQueue: a failed put hands the item back untouched") {
  greenev::ThreadQueue<std::unique_ptr<int>> q(1);
  q.put(std::make_unique<int>(1));
  auto v = std::make_unique<int>(2);
  CHECK_FALSE(q.try_put(std::move(v)));
  REQUIRE(v);
  CHECK_FALSE(q.put(std::move(v), 10ms));  // full: times out
  REQUIRE(v);
  q.close();
  CHECK_THROWS_AS(q.put(std::move(v)), greenev::ChannelClosed);
  REQUIRE(v);
  CHECK(*v == 2);
  CHECK(**q.try_get() == 1);
  test::require_hub_clean();
}

TEST_CASE("ThreadQueue: timed get on a plain thread and in a fiber") {
  greenev::ThreadQueue<int> q(1);
  std::thread t([&] { CHECK_FALSE(q.get(20ms).has_value()); });
  t.join();
  CHECK_FALSE(q.get(20ms).has_value());
  {
    greenev::Timeout to(20ms);
    CHECK_THROWS_AS(q.get(), greenev::TimeoutError);
  }
  CHECK_THROWS_AS(greenev::ThreadQueue<int>(0), std::invalid_argument);
  test::require_hub_clean();
}

TEST_CASE("ThreadQueue: a fiber killed while blocked unwinds and leaves no waiter behind") {
  greenev::ThreadQueue<int> q(4);
  bool unwound = false;
  auto victim = greenev::spawn([&] {
    struct G {
      bool& u;
      ~G() { u = true; }
    } g{unwound};
    q.get();
  });
  auto other = greenev::spawn([&] { return q.get(); });
  greenev::sleep(5ms);  // both wait: victim first
  victim.kill();
  CHECK(unwound);
  std::thread t([&] { q.put(42); });  // from another thread: goes to the remaining waiter
  CHECK(other.join() == 42);
  t.join();
  test::require_hub_clean();
}

TEST_CASE("ThreadQueue: a waiter woken on its own hub and then killed has taken the item (hand-off)") {
  greenev::ThreadQueue<int> q(4);
  int got = 0;
  auto victim = greenev::spawn([&] {
    got = q.get();
    greenev::sleep(1h);  // the pending kill is raised here
  });
  greenev::sleep(5ms);
  q.put(42);      // wakes victim directly (same hub)
  victim.kill();  // pending until its next suspension point, as for greenev::Queue
  CHECK(got == 42);
  CHECK(victim.killed());
  CHECK(q.size() == 0);
  test::require_hub_clean();
}
