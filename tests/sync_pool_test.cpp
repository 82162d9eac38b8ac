// Group and Pool: membership, join with timeout, kill, concurrency limit, map / imap_unordered.
#include "test_support.hpp"

#include <greenev/event.hpp>
#include <greenev/pool.hpp>

#include <algorithm>
#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("Group tracks running members and join waits for all of them") {
  greenev::Group g;
  int done = 0;
  for (int i = 0; i < 10; ++i) g.spawn([&, i] {
    greenev::sleep(std::chrono::milliseconds(i % 3));
    ++done;
  });
  CHECK(g.size() == 10);
  g.join();
  CHECK(done == 10);
  CHECK(g.empty());
  test::require_hub_clean();
}

TEST_CASE("Group::join(d) returns false while members still run") {
  greenev::Group g;
  g.spawn([] { greenev::sleep(50ms); });
  CHECK_FALSE(g.join(5ms));
  CHECK(g.size() == 1);
  CHECK(g.join(5s));
  test::require_hub_clean();
}

TEST_CASE("Group::kill kills every member, started or not") {
  greenev::Group g;
  int finished = 0;
  for (int i = 0; i < 5; ++i) g.spawn([&] {
    greenev::sleep(10s);
    ++finished;
  });
  greenev::this_fiber::yield();
  g.spawn([&] { ++finished; });  // not started yet
  g.kill();
  CHECK(g.empty());
  CHECK(finished == 0);
  test::require_hub_clean();
}

TEST_CASE("Group::add adopts a fiber spawned elsewhere") {
  greenev::Group g;
  auto f = greenev::spawn([] { greenev::sleep(2ms); return 3; });
  g.add(f);
  CHECK(g.size() == 1);
  g.join();
  CHECK(f.join() == 3);
  test::require_hub_clean();
}

TEST_CASE("Pool(n) never runs more than n members and spawn waits while full") {
  constexpr int kN = 4;
  greenev::Pool pool(kN);
  int running = 0, max_running = 0;
  for (int i = 0; i < 40; ++i) {
    pool.spawn([&] {
      max_running = std::max(max_running, ++running);
      greenev::sleep(1ms);
      --running;
    });
    CHECK(pool.size() <= kN);
  }
  pool.join();
  CHECK(max_running == kN);
  CHECK(pool.free_count() == kN);
  test::require_hub_clean();
}

TEST_CASE("a spawner blocked on a full Pool can time out or be killed without taking a slot") {
  greenev::Pool pool(1);
  greenev::Event release;
  pool.spawn([&] { release.wait(); });
  CHECK(pool.full());
  CHECK_FALSE(pool.wait_available(5ms));
  auto blocked = greenev::spawn([&] { pool.spawn([] {}); });
  greenev::this_fiber::yield();
  CHECK(blocked.wait_reason() == std::string("pool_spawn"));
  blocked.kill();
  bool ran = false;
  auto next = greenev::spawn([&] { pool.spawn([&] { ran = true; }); });
  greenev::this_fiber::yield();
  release.set();
  next.join();
  pool.join();
  CHECK(ran);
  CHECK(pool.free_count() == 1);
  test::require_hub_clean();
}

TEST_CASE("Pool::map returns results in input order with bounded concurrency") {
  greenev::Pool pool(3);
  int running = 0, max_running = 0;
  std::vector<int> in{5, 1, 4, 2, 3, 0, 6};
  auto out = pool.map([&](int x) {
    max_running = std::max(max_running, ++running);
    greenev::sleep(std::chrono::milliseconds(x));
    --running;
    return x * x;
  }, in);
  CHECK(out == std::vector<int>{25, 1, 16, 4, 9, 0, 36});
  CHECK(max_running == 3);
  test::require_hub_clean();
}

TEST_CASE("Group::map rethrows the first failure after all finished") {
  greenev::Group g;
  std::vector<int> in{1, 2, 3};
  CHECK_THROWS_WITH_AS(g.map([](int x) -> int {
    if (x == 2) throw std::runtime_error("two");
    return x;
  }, in), "two", std::runtime_error);
  CHECK(g.empty());
  test::require_hub_clean();
}

TEST_CASE("Pool::imap_unordered yields every result in completion order") {
  greenev::Pool pool(4);
  std::vector<int> in{30, 1, 20, 2, 10, 3};
  std::vector<int> got;
  {
    auto stream = pool.imap_unordered([](int ms) {
      greenev::sleep(std::chrono::milliseconds(ms));
      return ms;
    }, in);
    for (int v : stream) got.push_back(v);
  }
  CHECK(got.size() == in.size());
  CHECK(got.front() == 1);
  CHECK(got.back() == 30);
  std::vector<int> sorted = got;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == std::vector<int>{1, 2, 3, 10, 20, 30});
  pool.join();
  test::require_hub_clean();
}

TEST_CASE("imap_unordered rethrows a task's exception from next()") {
  greenev::Group g;
  std::vector<int> in{1};
  auto stream = g.imap_unordered([](int) -> int { throw std::runtime_error("bad"); }, in);
  CHECK_THROWS_WITH_AS(stream.next(), "bad", std::runtime_error);
  CHECK_FALSE(stream.next().has_value());
  test::require_hub_clean();
}
