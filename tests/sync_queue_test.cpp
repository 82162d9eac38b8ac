// Queue, LifoQueue, PriorityQueue, JoinableQueue and Channel: ordering, blocking put/get,
// timeouts, kill while waiting (nothing lost or duplicated), close, and 1000-fiber
// producer/consumer delivery.
#include "test_support.hpp"

#include <greenev/channel.hpp>
#include <greenev/queue.hpp>

#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("Queue is FIFO and try_get/try_put never wait") {
  greenev::Queue<int> q(3);
  CHECK(q.try_put(1));
  q.put(2);
  CHECK(q.try_put(3));
  CHECK(q.full());
  CHECK_FALSE(q.try_put(4));
  CHECK(q.size() == 3);
  CHECK(q.get() == 1);
  CHECK(*q.try_get() == 2);
  CHECK(q.get() == 3);
  CHECK_FALSE(q.try_get().has_value());
  test::require_hub_clean();
}

TEST_CASE("an unbounded Queue grows and keeps order across wrap-around") {
  greenev::Queue<std::string> q;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 100; ++i) q.put(std::to_string(i));
    for (int i = 0; i < 50; ++i) CHECK(q.get() == std::to_string(i));
    for (int i = 100; i < 150; ++i) q.put(std::to_string(i));
    for (int i = 50; i < 150; ++i) CHECK(q.get() == std::to_string(i));
  }
  CHECK(q.empty());
  test::require_hub_clean();
}

TEST_CASE("Queue holds move-only items") {
  greenev::Queue<std::unique_ptr<int>> q(2);
  q.put(std::make_unique<int>(5));
  auto g = greenev::spawn([&] { return *q.get(); });
  CHECK(*q.get() == 5);
  q.put(std::make_unique<int>(6));
  CHECK(g.join() == 6);
  test::require_hub_clean();
}

TEST_CASE("put blocks while a bounded queue is full and completes when a getter makes room") {
  greenev::Queue<int> q(1);
  q.put(1);
  bool put_done = false;
  auto p = greenev::spawn([&] {
    q.put(2);
    put_done = true;
  });
  greenev::this_fiber::yield();
  CHECK(p.wait_reason() == std::string("queue_put"));
  CHECK_FALSE(put_done);
  CHECK(q.get() == 1);
  CHECK(q.size() == 1);  // the blocked put's item moved straight into the buffer
  p.join();
  CHECK(put_done);
  CHECK(q.get() == 2);
  test::require_hub_clean();
}

TEST_CASE("get and put with a duration time out without losing or adding items") {
  greenev::Queue<int> q(1);
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(q.get(15ms).has_value());
  CHECK(test::ms_since(t0) >= 14);
  q.put(1);
  CHECK_FALSE(q.put(2, 10ms));
  CHECK(q.size() == 1);
  CHECK(q.putters_waiting() == 0);
  CHECK(*q.get(10ms) == 1);
  CHECK(q.empty());
  test::require_hub_clean();
}

TEST_CASE("get honours a Timeout scope") {
  greenev::Queue<int> q;
  greenev::Timeout t(5ms);
  CHECK_THROWS_AS(q.get(), greenev::TimeoutError);
  test::require_hub_clean();
}

TEST_CASE("getters are served in FIFO order") {
  greenev::Queue<int> q;
  std::vector<std::pair<int, int>> got;
  std::vector<greenev::Fiber<void>> fs;
  for (int i = 0; i < 4; ++i) fs.push_back(greenev::spawn([&, i] { got.emplace_back(i, q.get()); }));
  greenev::this_fiber::yield();
  for (int i = 0; i < 4; ++i) q.put(100 + i);
  for (auto& f : fs) f.join();
  CHECK(got == std::vector<std::pair<int, int>>{{0, 100}, {1, 101}, {2, 102}, {3, 103}});
  test::require_hub_clean();
}

TEST_CASE("a getter killed while waiting loses nothing; one killed after the hand-off still got its item") {
  greenev::Queue<int> q;
  auto waiting_victim = greenev::spawn([&] { return q.get(); });
  int handed = -1;
  auto handed_victim = greenev::spawn([&] {
    handed = q.get();
    greenev::sleep(10s);
  });
  greenev::this_fiber::yield();
  waiting_victim.kill();         // still queued: takes nothing
  q.put(1);                      // handed to handed_victim
  handed_victim.kill(greenev::no_wait);  // killed after the hand-off, before it runs
  handed_victim.wait();
  CHECK(handed == 1);
  q.put(2);
  CHECK(q.get() == 2);
  CHECK(q.empty());
  test::require_hub_clean();
}

TEST_CASE("a putter killed while blocked does not deliver its item") {
  greenev::Queue<int> q(1);
  q.put(1);
  auto victim = greenev::spawn([&] { q.put(2); });
  auto other = greenev::spawn([&] { q.put(3); });
  greenev::this_fiber::yield();
  victim.kill();
  CHECK(q.get() == 1);
  CHECK(q.get() == 3);
  other.join();
  CHECK(q.empty());
  test::require_hub_clean();
}

TEST_CASE("1000 producers and 1000 consumers over a bounded queue deliver every item exactly once") {
  constexpr int kFibers = 1000, kPer = 10;
  greenev::Queue<int> q(16);
  std::vector<int> seen(kFibers * kPer, 0);
  std::vector<greenev::Fiber<void>> fs;
  for (int p = 0; p < kFibers; ++p) fs.push_back(greenev::spawn([&, p] {
    for (int k = 0; k < kPer; ++k) {
      q.put(p * kPer + k);
      if (k % 3 == 0) greenev::this_fiber::yield();
    }
  }));
  for (int c = 0; c < kFibers; ++c) fs.push_back(greenev::spawn([&] {
    for (int k = 0; k < kPer; ++k) ++seen[q.get()];
  }));
  for (auto& f : fs) f.join();
  int wrong = 0;
  for (int v : seen) wrong += v != 1;
  CHECK(wrong == 0);
  CHECK(q.empty());
  test::require_hub_clean();
}

TEST_CASE("close wakes blocked getters and putters with ChannelClosed, and get drains first") {
  greenev::Queue<int> q(1);
  auto getter_q = std::make_unique<greenev::Queue<int>>();
  auto g = greenev::spawn([&] { return getter_q->get(); });
  q.put(1);
  auto p = greenev::spawn([&] { q.put(2); });
  greenev::this_fiber::yield();
  getter_q->close();
  q.close();
  CHECK_THROWS_AS(g.join(), greenev::ChannelClosed);
  CHECK_THROWS_AS(p.join(), greenev::ChannelClosed);
  CHECK(q.closed());
  CHECK_THROWS_AS(q.put(3), greenev::ChannelClosed);
  CHECK_FALSE(q.try_put(3));
  CHECK(q.get() == 1);  // buffered items are still delivered
  CHECK_THROWS_AS(q.get(), greenev::ChannelClosed);
  CHECK_FALSE(q.try_get().has_value());
  CHECK_THROWS_AS(q.get(1ms), greenev::ChannelClosed);
  test::require_hub_clean();
}

TEST_CASE("LifoQueue returns the newest item first") {
  greenev::LifoQueue<int> q;
  for (int i = 0; i < 4; ++i) q.put(i);
  std::vector<int> out;
  while (auto v = q.try_get()) out.push_back(*v);
  CHECK(out == std::vector<int>{3, 2, 1, 0});
  test::require_hub_clean();
}

TEST_CASE("PriorityQueue returns the smallest item first and blocks like Queue") {
  greenev::PriorityQueue<int> q(3);
  q.put(5);
  q.put(1);
  q.put(3);
  auto p = greenev::spawn([&] { q.put(0); });
  greenev::this_fiber::yield();
  CHECK(q.get() == 1);  // the putter's 0 enters the heap now
  p.join();
  CHECK(q.get() == 0);
  CHECK(q.get() == 3);
  CHECK(q.get() == 5);
  greenev::PriorityQueue<int, std::greater<int>> maxq;
  maxq.put(1);
  maxq.put(9);
  CHECK(maxq.get() == 9);
  test::require_hub_clean();
}

TEST_CASE("JoinableQueue::join waits until every put item was marked done") {
  greenev::JoinableQueue<int> q(2);
  int processed = 0;
  auto worker = greenev::spawn([&] {
    for (int i = 0; i < 5; ++i) {
      q.get();
      greenev::sleep(1ms);
      ++processed;
      q.task_done();
    }
  });
  for (int i = 0; i < 5; ++i) q.put(i);
  q.join();
  CHECK(processed == 5);
  CHECK(q.unfinished_tasks() == 0);
  CHECK_THROWS_AS(q.task_done(), std::logic_error);
  CHECK(q.join(1ms));
  worker.join();
  q.put(9);
  CHECK_FALSE(q.join(5ms));
  q.get();
  q.task_done();
  test::require_hub_clean();
}

TEST_CASE("Channel put completes only when a getter takes the item") {
  greenev::Channel<int> ch;
  bool put_returned = false;
  auto p = greenev::spawn([&] {
    ch.put(1);
    put_returned = true;
  });
  greenev::this_fiber::yield();
  CHECK_FALSE(put_returned);
  CHECK(p.wait_reason() == std::string("queue_put"));
  CHECK(ch.get() == 1);
  p.join();
  CHECK(put_returned);
  CHECK_FALSE(ch.try_put(2));  // nobody waiting to take it
  CHECK_FALSE(ch.put(2, 5ms));
  auto g = greenev::spawn([&] { return ch.get(); });
  greenev::this_fiber::yield();
  CHECK(ch.try_put(3));
  CHECK(g.join() == 3);
  test::require_hub_clean();
}

TEST_CASE("Channel ping-pong between two fibers keeps order") {
  greenev::Channel<int> a, b;
  auto echo = greenev::spawn([&] {
    for (int i = 0; i < 100; ++i) b.put(a.get() + 1);
  });
  for (int i = 0; i < 100; ++i) {
    a.put(i * 10);
    CHECK(b.get() == i * 10 + 1);
  }
  echo.join();
  test::require_hub_clean();
}

TEST_CASE("Channel close wakes a blocked putter and getter with ChannelClosed") {
  greenev::Channel<int> ch1, ch2;
  auto p = greenev::spawn([&] { ch1.put(1); });
  auto g = greenev::spawn([&] { return ch2.get(); });
  greenev::this_fiber::yield();
  ch1.close();
  ch2.close();
  CHECK_THROWS_AS(p.join(), greenev::ChannelClosed);
  CHECK_THROWS_AS(g.join(), greenev::ChannelClosed);
  CHECK_THROWS_AS(ch1.get(), greenev::ChannelClosed);
  CHECK_FALSE(ch1.try_get().has_value());
  test::require_hub_clean();
}
