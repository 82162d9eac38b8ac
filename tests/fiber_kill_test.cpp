// kill(): FiberExit at the suspension point, RAII unwinding, unstarted fibers never run.
#include "test_support.hpp"

using namespace std::chrono_literals;

namespace {
struct Flag {
  bool& f;
  ~Flag() { f = true; }
};
}  // namespace

TEST_CASE("killing a fiber that has not started means it never runs") {
  bool ran = false;
  auto f = greenev::spawn([&] { ran = true; });
  f.kill();
  CHECK(f.ready());
  CHECK(f.killed());
  greenev::sleep(1ms);
  CHECK_FALSE(ran);
  CHECK_THROWS_AS(f.join(), greenev::FiberKilled);
  test::require_hub_clean();
}

TEST_CASE("kill wakes a sleeping fiber and unwinds its stack") {
  bool unwound = false, after = false;
  auto f = greenev::spawn([&] {
    Flag g{unwound};
    greenev::sleep(10s);
    after = true;
  });
  greenev::sleep(1ms);
  CHECK(f.wait_reason() == std::string("sleep"));
  auto t0 = std::chrono::steady_clock::now();
  f.kill();
  CHECK(test::ms_since(t0) < 100);
  CHECK(unwound);
  CHECK_FALSE(after);
  CHECK(f.killed());
  test::require_hub_clean();
}

TEST_CASE("kill reaches a fiber that only yields, at its next yield") {
  int loops = 0;
  auto f = greenev::spawn([&] {
    for (;;) {
      ++loops;
      greenev::this_fiber::yield();
    }
  });
  greenev::this_fiber::yield();
  greenev::this_fiber::yield();
  f.kill();
  CHECK(f.killed());
  CHECK(loops >= 1);
  test::require_hub_clean();
}

TEST_CASE("catch (std::exception&) does not swallow a kill") {
  bool swallowed = false;
  auto f = greenev::spawn([&] {
    try {
      greenev::sleep(10s);
    } catch (const std::exception&) {
      swallowed = true;
    }
  });
  greenev::this_fiber::yield();
  f.kill();
  CHECK_FALSE(swallowed);
  CHECK(f.killed());
  test::require_hub_clean();
}

TEST_CASE("kill(no_wait) only requests; the fiber dies at its next suspension") {
  bool unwound = false;
  auto f = greenev::spawn([&] {
    Flag g{unwound};
    greenev::sleep(10s);
  });
  greenev::this_fiber::yield();
  f.kill(greenev::no_wait);
  CHECK_FALSE(unwound);
  f.wait();
  CHECK(unwound);
  test::require_hub_clean();
}

TEST_CASE("killing a finished fiber is a no-op that keeps its value") {
  auto f = greenev::spawn([] { return 3; });
  CHECK(f.join() == 3);
  f.kill();
  CHECK_FALSE(f.killed());
  CHECK(f.get() == 3);
  test::require_hub_clean();
}

TEST_CASE("a fiber blocked in join is killable and the joined fiber is unaffected") {
  auto inner = greenev::spawn([] { greenev::sleep(30ms); return 1; });
  auto outer = greenev::spawn([&] { return inner.join(); });
  greenev::this_fiber::yield();
  outer.kill();
  CHECK(outer.killed());
  CHECK(inner.join() == 1);
  test::require_hub_clean();
}
