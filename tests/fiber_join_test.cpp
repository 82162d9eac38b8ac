// Spawning and joining: values, exceptions, timeouts, handles, callbacks.
#include "test_support.hpp"

#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

TEST_CASE("join returns the fiber's value and spawn passes arguments") {
  auto f = greenev::spawn([](int a, std::string b) { return b + std::to_string(a); }, 7, std::string("x"));
  CHECK_FALSE(f.ready());  // spawn never switches: it has not run yet
  CHECK(f.join() == "x7");
  CHECK(f.ready());
  CHECK(f.successful());
  test::require_hub_clean();
}

TEST_CASE("join rethrows the exception that escaped the fiber") {
  auto f = greenev::spawn([]() -> int { throw std::runtime_error("boom"); });
  CHECK_THROWS_WITH_AS(f.join(), "boom", std::runtime_error);
  CHECK_FALSE(f.successful());
  test::require_hub_clean();
}

TEST_CASE("join with a timeout gives up, and a later join gets the value") {
  auto f = greenev::spawn([] {
    greenev::sleep(400ms);
    return 5;
  });
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(f.join(10ms).has_value());
  CHECK(test::ms_since(t0) < 300);  // gave up long before the fiber finished (loaded CI: be generous)
  CHECK(f.join(5s) == std::optional<int>(5));
  auto v = greenev::spawn([] { greenev::sleep(50ms); });
  CHECK_FALSE(v.join(1ms));
  CHECK(v.join(5s));
  test::require_hub_clean();
}

TEST_CASE("fibers run in spawn order and interleave at yields") {
  std::string trace;
  auto a = greenev::spawn([&] { trace += "a1 "; greenev::this_fiber::yield(); trace += "a2 "; });
  auto b = greenev::spawn([&] { trace += "b1 "; greenev::this_fiber::yield(); trace += "b2 "; });
  a.join();
  b.join();
  CHECK(trace == "a1 b1 a2 b2 ");
  test::require_hub_clean();
}

TEST_CASE("a detached fiber runs to completion without a handle") {
  bool ran = false;
  greenev::spawn([&] { greenev::sleep(5ms); ran = true; }).detach();
  greenev::sleep(50ms);
  CHECK(ran);
  test::require_hub_clean();
}

TEST_CASE("a fiber finishes even when its handle is dropped") {
  int n = 0;
  { auto f = greenev::spawn([&] { ++n; }); }
  greenev::this_fiber::yield();
  CHECK(n == 1);
  test::require_hub_clean();
}

TEST_CASE("on_done callbacks run when the fiber finishes, also if added late") {
  std::vector<std::uint64_t> seen;
  auto f = greenev::spawn([] { greenev::sleep(1ms); });
  f.on_done([&](std::uint64_t id) { seen.push_back(id); });
  f.join();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == f.id());
  f.on_done([&](std::uint64_t id) { seen.push_back(id); });  // already done: runs at once
  CHECK(seen.size() == 2);
  test::require_hub_clean();
}

TEST_CASE("fibers have unique ids and settable names; main is fiber 0") {
  CHECK(greenev::this_fiber::id() == 0);
  CHECK(greenev::this_fiber::name() == "main");
  auto f = greenev::spawn(greenev::SpawnOptions{"worker"}, [] { return greenev::this_fiber::name(); });
  auto g = greenev::spawn([] { return greenev::this_fiber::id(); });
  CHECK(f.id() != g.id());
  CHECK(f.name() == "worker");
  CHECK(f.join() == "worker");
  CHECK(g.join() == g.id());
  CHECK(g.name() == "fiber-" + std::to_string(g.id()));
  test::require_hub_clean();
}

TEST_CASE("joining itself is an error, not a deadlock") {
  greenev::Fiber<void> self;
  auto f = greenev::spawn([&] { self.join(); });
  self = f;
  CHECK_THROWS_AS(f.join(), std::logic_error);
  self = {};
  test::require_hub_clean();
}

TEST_CASE("a join that can never finish raises LoopExit in main instead of hanging") {
  greenev::detail::WaitList never;
  auto f = greenev::spawn([&] { greenev::detail::raise_for(never.wait("test_forever", greenev::detail::kForever)); });
  CHECK_THROWS_AS(f.join(), greenev::LoopExit);
  f.kill();
  CHECK(f.killed());
  test::require_hub_clean();
}

TEST_CASE("per-spawn stack size is honoured: a deep frame fits in a 1 MiB stack") {
  auto f = greenev::spawn(greenev::SpawnOptions{"deep", 1 << 20}, [] {
    volatile char buf[600 * 1024];
    buf[0] = 1;
    buf[sizeof buf - 1] = 2;
    return buf[0] + buf[sizeof buf - 1];
  });
  CHECK(f.join() == 3);
  test::require_hub_clean();
}
