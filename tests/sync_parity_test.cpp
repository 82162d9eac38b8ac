// gevent parity (issue 12): items handed back by failed puts, peek, iteration until close,
// select over queues + channels + fibers, killall, link / link_value / link_exception,
// Pool::imap / apply / apply_async / map over void, ThreadPool::spawn -> AsyncResult.
#include "test_support.hpp"

#include <greenev/channel.hpp>
#include <greenev/pool.hpp>
#include <greenev/queue.hpp>
#include <greenev/threadpool.hpp>
#include <greenev/wait.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("try_put, a timed-out put and a put on a closed queue leave the item with the caller") {
  greenev::Queue<std::unique_ptr<int>> q(1);
  auto a = std::make_unique<int>(1);
  REQUIRE(q.try_put(std::move(a)));
  CHECK(a == nullptr);  // delivered: moved from
  auto b = std::make_unique<int>(2);
  CHECK_FALSE(q.try_put(std::move(b)));
  REQUIRE(b != nullptr);
  CHECK(*b == 2);
  CHECK_FALSE(q.put(std::move(b), 5ms));
  REQUIRE(b != nullptr);
  CHECK(*b == 2);
  q.close();
  CHECK_THROWS_AS(q.put(std::move(b)), greenev::ChannelClosed);
  REQUIRE(b != nullptr);
  CHECK(*b == 2);

  greenev::Channel<std::unique_ptr<int>> ch;  // nobody waiting: try_put fails, item kept
  auto c = std::make_unique<int>(3);
  CHECK_FALSE(ch.try_put(std::move(c)));
  REQUIRE(c != nullptr);
  auto getter = greenev::spawn([&] { return *ch.get(); });
  greenev::this_fiber::yield();  // the getter now waits
  CHECK(ch.try_put(std::move(c)));
  CHECK(c == nullptr);
  CHECK(getter.join() == 3);

  greenev::Queue<std::string> s(1);  // lvalues are copied: the original is never touched
  std::string keep = "kept";
  CHECK(s.try_put(keep));
  CHECK_FALSE(s.try_put(keep));
  CHECK(keep == "kept");
  test::require_hub_clean();
}

TEST_CASE("a putter blocked on a full queue that is killed keeps its item") {
  greenev::Queue<std::unique_ptr<int>> q(1);
  q.put(std::make_unique<int>(0));
  std::unique_ptr<int> mine = std::make_unique<int>(7);
  bool still_mine = false;
  auto putter = greenev::spawn([&] {
    try {
      q.put(std::move(mine));
    } catch (const greenev::FiberExit&) {
      still_mine = mine != nullptr && *mine == 7;
      throw;
    }
  });
  greenev::this_fiber::yield();
  CHECK(q.putters_waiting() == 1);
  putter.kill();
  CHECK(still_mine);
  CHECK(q.size() == 1);
  test::require_hub_clean();
}

TEST_CASE("peek shows the next item without taking it, waits for one, and times out") {
  greenev::PriorityQueue<int> pq;
  pq.put(5);
  pq.put(1);
  CHECK(pq.peek() == 1);
  CHECK(pq.size() == 2);
  CHECK(pq.get() == 1);

  greenev::Queue<int> q;
  CHECK(q.try_peek() == nullptr);
  CHECK(q.peek(5ms) == nullptr);
  auto producer = greenev::spawn([&] {
    greenev::sleep(5ms);
    q.put(42);
  });
  CHECK(q.peek() == 42);  // waited ("queue_peek") for the put
  CHECK(q.size() == 1);
  CHECK(q.get() == 42);
  producer.join();
  q.close();
  CHECK_THROWS_AS(q.peek(), greenev::ChannelClosed);

  greenev::Channel<std::string> ch;  // a Channel peeks at the first blocked putter's item
  auto putter = greenev::spawn([&] { ch.put("rendezvous"); });
  CHECK(ch.peek() == "rendezvous");
  CHECK(ch.putters_waiting() == 1);
  CHECK(ch.get() == "rendezvous");
  putter.join();
  test::require_hub_clean();
}

TEST_CASE("for (auto& v : q) gets every item until the queue is closed and drained") {
  greenev::Queue<int> q(2);
  auto producer = greenev::spawn([&] {
    for (int i = 0; i < 10; ++i) q.put(i);
    q.close();
  });
  std::vector<int> got;
  for (auto& v : q) got.push_back(v);
  CHECK(got == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  producer.join();

  greenev::Channel<int> ch;
  auto sender = greenev::spawn([&] {
    ch.put(1);
    ch.put(2);
    ch.close();
  });
  int sum = 0;
  for (int v : ch) sum += v;
  CHECK(sum == 3);
  sender.join();
  test::require_hub_clean();
}

TEST_CASE("select over a Queue, a Channel and a Fiber returns the ready one; try_get then succeeds") {
  greenev::Queue<int> q;
  greenev::Channel<std::string> ch;
  auto worker = greenev::spawn([] {
    greenev::sleep(20ms);
    return 5;
  });
  CHECK_FALSE(greenev::select(5ms, q, ch, worker).has_value());  // nothing ready yet

  auto sender = greenev::spawn([&] { ch.put("hi"); });
  auto i = greenev::select(1s, q, ch, worker);
  REQUIRE(i.has_value());
  CHECK(*i == 1);
  CHECK(ch.try_get() == std::optional<std::string>("hi"));
  sender.join();

  CHECK(greenev::select(q, ch, worker) == 2);  // the worker finishes
  CHECK(worker.join() == 5);
  q.put(9);
  CHECK(greenev::select(q, ch) == 0);
  CHECK(q.try_get() == 9);
  q.close();
  CHECK(greenev::select(q, ch) == 0);  // closed counts as ready (get would throw at once)
  test::require_hub_clean();
}

TEST_CASE("select is level-triggered: a selector whose item was taken by another keeps waiting") {
  greenev::Queue<int> q;
  greenev::Event stop;
  std::vector<int> got;
  std::vector<greenev::Fiber<void>> selectors;
  for (int k = 0; k < 3; ++k)
    selectors.push_back(greenev::spawn([&] {
      for (;;) {
        auto i = greenev::select(2s, q, stop);
        if (!i || *i == 1) return;
        auto v = q.try_get();
        REQUIRE(v.has_value());  // select said ready and nobody ran since
        got.push_back(*v);
      }
    }));
  greenev::this_fiber::yield();
  for (int v = 0; v < 20; ++v) {
    q.put(v);
    if (v % 3 == 0) greenev::this_fiber::yield();
  }
  while (!q.empty()) greenev::this_fiber::yield();
  stop.set();
  greenev::wait_all(selectors);
  CHECK(got.size() == 20);
  test::require_hub_clean();
}

TEST_CASE("can_put(q) in a select is ready when a put would not wait") {
  greenev::Queue<int> q(1);
  q.put(1);
  CHECK_FALSE(greenev::select(5ms, greenev::can_put(q)).has_value());
  auto consumer = greenev::spawn([&] {
    greenev::sleep(5ms);
    return q.get();
  });
  CHECK(greenev::select(1s, greenev::can_put(q)) == 0u);
  CHECK(q.try_put(2));
  CHECK(consumer.join() == 1);

  greenev::Channel<int> ch;  // a Channel can take a put once a getter waits
  auto getter = greenev::spawn([&] { return ch.get(); });
  CHECK(greenev::select(greenev::can_put(ch)) == 0u);
  CHECK(ch.try_put(3));
  CHECK(getter.join() == 3);
  test::require_hub_clean();
}

TEST_CASE("killall kills every fiber of a range and waits; no_wait only requests; timed form") {
  int unwound = 0;
  auto body = [&] {
    struct Count {
      int* n;
      ~Count() { ++*n; }
    } c{&unwound};
    greenev::sleep(10s);
  };
  std::vector<greenev::Fiber<void>> fs;
  for (int i = 0; i < 5; ++i) fs.push_back(greenev::spawn(body));
  greenev::this_fiber::yield();
  greenev::killall(fs);
  CHECK(unwound == 5);
  for (auto& f : fs) CHECK(f.killed());

  unwound = 0;
  fs.clear();
  for (int i = 0; i < 3; ++i) fs.push_back(greenev::spawn(body));
  greenev::this_fiber::yield();
  greenev::killall(fs, greenev::no_wait);
  CHECK(unwound == 0);  // only requested
  CHECK(greenev::killall(fs, 1s));
  CHECK(unwound == 3);

  struct Shutdown {
    int code;
  };
  std::vector<greenev::Fiber<int>> workers;
  for (int i = 0; i < 3; ++i)
    workers.push_back(greenev::spawn([] {
      try {
        greenev::sleep(10s);
      } catch (const Shutdown& s) {
        return s.code;  // gevent's killall(exception=...): the fiber sees the user's type
      }
      return -1;
    }));
  greenev::this_fiber::yield();
  greenev::killall(workers, Shutdown{7});
  for (auto& w : workers) CHECK(w.join() == 7);

  std::vector<greenev::Fiber<void>> with_empty(2);
  with_empty[0] = greenev::spawn([] { greenev::sleep(10ms); });
  CHECK_THROWS_AS(greenev::killall(with_empty), std::logic_error);
  CHECK_FALSE(with_empty[0].ready());  // nothing was killed
  with_empty[0].join();
  test::require_hub_clean();
}

TEST_CASE("link_value, link_exception and link run in their own fibers with the outcome") {
  std::string value_seen;
  auto ok = greenev::spawn([] { return std::string("hello"); });
  ok.link_value([&](const std::string& v) {
    greenev::sleep(1ms);  // a link runs in a fiber: it may block
    value_seen = v;
  });
  bool exc_on_ok = false;
  ok.link_exception([&](std::exception_ptr) { exc_on_ok = true; });
  CHECK(ok.join() == "hello");  // moves the value out before the link runs: the link has a copy
  greenev::sleep(5ms);
  CHECK(value_seen == "hello");
  CHECK_FALSE(exc_on_ok);

  std::string error_seen;
  bool value_on_bad = false;
  auto bad = greenev::spawn([]() -> int { throw std::runtime_error("boom"); });
  bad.link_value([&](const int&) { value_on_bad = true; });
  bad.link_exception([&](std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::runtime_error& ex) {
      error_seen = ex.what();
    }
  });
  bad.wait();
  greenev::sleep(2ms);
  CHECK(error_seen == "boom");
  CHECK_FALSE(value_on_bad);

  bool killed_seen = false;
  auto victim = greenev::spawn([] { greenev::sleep(10s); });
  victim.link_exception([&](std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const greenev::FiberKilled&) {
      killed_seen = true;
    }
  });
  int linked_id_matches = 0;
  victim.link([&](greenev::Fiber<void>& f) { linked_id_matches = f.killed() ? 1 : -1; });
  greenev::this_fiber::yield();
  victim.kill();
  greenev::sleep(2ms);
  CHECK(killed_seen);
  CHECK(linked_id_matches == 1);

  bool late = false;  // linking a finished fiber runs the link at once (in a new fiber)
  auto done = greenev::spawn([] {});
  done.join();
  done.link_value([&] { late = true; });
  greenev::this_fiber::yield();
  CHECK(late);
  test::require_hub_clean();
}

TEST_CASE("Pool::imap yields results in input order while tasks finish out of order") {
  greenev::Pool pool(3);
  std::vector<int> in{40, 5, 25, 1, 10};
  std::vector<int> finished;
  std::vector<int> out;
  for (int v : pool.imap([&](int ms) {
         greenev::sleep(std::chrono::milliseconds(ms));
         finished.push_back(ms);
         return ms * 2;
       },
       in))
    out.push_back(v);
  CHECK(out == std::vector<int>{80, 10, 50, 2, 20});
  CHECK(finished != in);  // they really completed out of order
  pool.join();

  auto stream = pool.imap([](int x) {
    if (x == 2) throw std::invalid_argument("two");
    return x;
  }, std::vector<int>{1, 2, 3});
  CHECK(stream.next() == 1);
  CHECK_THROWS_AS(stream.next(), std::invalid_argument);
  CHECK(stream.next() == 3);
  CHECK_FALSE(stream.next().has_value());
  pool.join();
  test::require_hub_clean();
}

TEST_CASE("Pool::apply waits for the value, apply_async returns the fiber, map takes void functions") {
  greenev::Pool pool(2);
  CHECK(pool.apply([](int a, int b) { return a + b; }, 2, 3) == 5);
  CHECK_THROWS_AS(pool.apply([]() -> int { throw std::runtime_error("x"); }), std::runtime_error);

  auto f = pool.apply_async([] {
    greenev::sleep(2ms);
    return std::string("async");
  });
  CHECK(pool.size() == 1);
  CHECK(f.join() == "async");

  int calls = 0;
  int max_running = 0, running = 0;
  pool.map([&](int) {
    ++calls;
    max_running = std::max(max_running, ++running);
    greenev::sleep(2ms);
    --running;
  }, std::vector<int>{1, 2, 3, 4, 5});
  CHECK(calls == 5);
  CHECK(max_running == 2);
  CHECK_THROWS_AS(pool.map([](int x) {
    if (x == 3) throw std::out_of_range("3");
  }, std::vector<int>{1, 2, 3, 4}), std::out_of_range);
  pool.join();
  test::require_hub_clean();
}

TEST_CASE("ThreadPool::spawn returns an AsyncResult a fiber waits on while the hub keeps running") {
  greenev::ThreadPool tp(2);
  auto r1 = tp.spawn([] {
    std::this_thread::sleep_for(50ms);
    return 1;
  });
  auto r2 = tp.spawn([](int x) {
    std::this_thread::sleep_for(50ms);
    return x * 10;
  }, 2);
  auto r3 = tp.spawn([]() -> int { throw std::runtime_error("worker failed"); });
  auto rv = tp.spawn([] {});
  int ticks = 0;
  auto ticker = greenev::spawn([&] {
    while (!r1.ready() || !r2.ready()) {
      ++ticks;
      greenev::sleep(1ms);
    }
  });
  CHECK(r1.get() == 1);
  CHECK(r2.get() == 20);
  CHECK_THROWS_AS(r3.get(), std::runtime_error);
  rv.get();
  ticker.join();
  CHECK(ticks >= 2);  // the hub ran other fibers while the work ran on threads
  CHECK(greenev::wait_any(1s, r1).has_value());
  test::require_hub_clean();
}
