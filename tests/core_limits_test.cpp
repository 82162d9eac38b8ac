// Core runtime at its edges (issues 7 and 14): durations that overflow nanoseconds, impossible
// stack sizes, kill() under an expired Timeout, Timeout::cancel from another fiber, a Timeout
// that outlives its fiber, empty Fiber handles, fiber-locals touched during teardown.
#include "test_support.hpp"

#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("durations too large for nanoseconds mean forever, negative ones mean now") {
  using greenev::detail::kForever;
  CHECK(greenev::detail::deadline_after(std::chrono::hours(8760000)) == kForever);
  CHECK(greenev::detail::deadline_after(std::chrono::seconds::max()) == kForever);
  CHECK(greenev::detail::deadline_after(std::chrono::nanoseconds::max()) == kForever);
  CHECK(greenev::detail::deadline_after(std::chrono::duration<double>(1e300)) == kForever);
  const auto now = greenev::detail::now_ns();
  const auto d_min = greenev::detail::deadline_after(std::chrono::seconds::min());
  const auto d_neg = greenev::detail::deadline_after(-5s);
  const auto d_past = greenev::detail::deadline_at(std::chrono::system_clock::time_point::min());
  const auto later = greenev::detail::now_ns();
  CHECK(d_min >= now);
  CHECK(d_min <= later);
  CHECK(d_neg >= now);
  CHECK(d_neg <= later);
  CHECK(d_past <= later);
  CHECK(greenev::detail::deadline_at(std::chrono::steady_clock::time_point::max()) == kForever);
  CHECK(greenev::detail::deadline_at(std::chrono::system_clock::time_point::max()) == kForever);
  const auto in_1s = greenev::detail::deadline_after(1s);
  CHECK(in_1s > now);
  CHECK(in_1s < now + 2'000'000'000);
}

TEST_CASE("sleep(hours(8760000)) sleeps until a Timeout ends it; a negative sleep returns") {
  auto t0 = std::chrono::steady_clock::now();
  bool timed_out = false;
  try {
    greenev::Timeout t(50ms);
    greenev::sleep(std::chrono::hours(8760000));
  } catch (const greenev::TimeoutError&) {
    timed_out = true;
  }
  CHECK(timed_out);
  CHECK(test::ms_since(t0) >= 45);
  greenev::sleep(-1s);
  greenev::sleep(std::chrono::seconds::min());
  test::require_hub_clean();
}

TEST_CASE("Event::wait(seconds::max()) waits for the set instead of returning at once") {
  greenev::Event ev;
  auto setter = greenev::spawn([&] {
    greenev::sleep(30ms);
    ev.set();
  });
  auto t0 = std::chrono::steady_clock::now();
  CHECK(ev.wait(std::chrono::seconds::max()));
  CHECK(test::ms_since(t0) >= 25);
  setter.join();
  greenev::Event never;
  bool caught = false;
  try {
    greenev::Timeout t(30ms);
    never.wait(std::chrono::hours::max());
  } catch (const greenev::TimeoutError&) {
    caught = true;
  }
  CHECK(caught);
  CHECK(greenev::with_timeout(std::chrono::hours::max(), [] { return 7; }) == std::optional<int>(7));
  auto f = greenev::spawn([] { return 3; });
  CHECK(f.join(std::chrono::seconds::max()) == std::optional<int>(3));
  test::require_hub_clean();
}

TEST_CASE("impossible stack sizes are rejected at spawn with an exception naming the size") {
  for (std::size_t bad : {std::numeric_limits<std::size_t>::max(), std::size_t{1} << 50,
                          std::numeric_limits<std::size_t>::max() - 100}) {
    std::string what;
    try {
      greenev::spawn(greenev::SpawnOptions{"big", bad}, [] {});
    } catch (const std::invalid_argument& e) {
      what = e.what();
    }
    CHECK_MESSAGE(what.find(std::to_string(bad)) != std::string::npos, what);
  }
  CHECK_THROWS_AS(greenev::set_default_stack_size(std::size_t{1} << 50), std::invalid_argument);
  // A large but possible size works, and its fiber runs.
  auto f = greenev::spawn(greenev::SpawnOptions{"roomy", std::size_t{64} << 20}, [] {
    volatile char big[1 << 20];
    big[0] = 1;
    return big[0] + 1;
  });
  CHECK(f.join() == 2);
  test::require_hub_clean();
}

// Touches `depth` frames of ~4 KiB each, so running out of stack hits the guard page.
static int deep(int depth) {
  volatile char frame[4000];
  frame[0] = static_cast<char>(depth);
  return depth == 0 ? frame[0] : deep(depth - 1) + frame[0] - frame[0];
}

TEST_CASE("a new default stack size applies to the next fiber even with a pooled stack at hand") {
  // The pool keeps the last default-size stack in a slot: it must not hand out the old size.
  greenev::spawn([] {}).join();                     // a 256 KiB stack is now pooled
  greenev::set_default_stack_size(std::size_t{2} << 20);
  greenev::Event go;
  std::vector<greenev::Fiber<int>> fs;  // alive together: each takes its own stack
  for (int i = 0; i < 3; ++i)
    fs.push_back(greenev::spawn([&go] {
      go.wait();
      return deep(300);  // ~1.2 MiB: would overflow a 256 KiB stack
    }));
  greenev::this_fiber::yield();  // all three started, each on a stack of the new default size
  go.set();
  for (auto& f : fs) CHECK(f.join() == 0);
  greenev::set_default_stack_size(0);
  greenev::spawn([] {}).join();
  test::require_hub_clean();
}

// A victim that needs a moment to stop: its unwinding suspends twice.
struct SlowToDie {
  bool& flag;
  ~SlowToDie() {
    greenev::this_fiber::yield();
    greenev::sleep(5ms);
    flag = true;
  }
};

TEST_CASE("kill() finishes its job under the caller's expired Timeout and never throws TimeoutError") {
  bool unwound = false;
  auto victim = greenev::spawn([&] {
    SlowToDie g{unwound};
    greenev::sleep(10s);
  });
  greenev::this_fiber::yield();
  greenev::Timeout t(1ms);
  while (!t.expired()) {
  }  // expired, not yet raised: no suspension since
  victim.kill();
  CHECK(victim.ready());
  CHECK(victim.killed());
  CHECK(unwound);
  CHECK_THROWS_AS(greenev::this_fiber::yield(), greenev::TimeoutError);  // still fires, once
  test::require_hub_clean();
}

TEST_CASE("a kill of the caller that lands during kill() waits for the victim, then is raised") {
  bool unwound = false;
  greenev::Fiber<void> victim = greenev::spawn([&] {
    SlowToDie g{unwound};
    greenev::sleep(10s);
  });
  bool victim_gone_when_kill_returned = false;
  auto killer = greenev::spawn([&] {
    victim.kill();
    victim_gone_when_kill_returned = victim.ready();
    greenev::sleep(10s);  // the pending kill is raised here
  });
  greenev::this_fiber::yield();  // both start; killer is inside kill()
  killer.kill(greenev::no_wait);
  killer.wait();
  CHECK(victim_gone_when_kill_returned);
  CHECK(unwound);
  CHECK(killer.killed());
  test::require_hub_clean();
}

TEST_CASE("Timeout::cancel() from another fiber stops the timer of a parked owner") {
  greenev::Event ev;
  greenev::Timeout* scope = nullptr;
  bool timed_out = false;
  auto owner = greenev::spawn([&] {
    try {
      greenev::Timeout t(60ms);
      scope = &t;
      ev.wait();
      scope = nullptr;
    } catch (const greenev::TimeoutError&) {
      timed_out = true;
    }
  });
  greenev::sleep(10ms);
  REQUIRE(scope != nullptr);
  scope->cancel();
  greenev::sleep(150ms);  // well past the cancelled deadline
  CHECK_FALSE(timed_out);
  CHECK_FALSE(owner.ready());
  ev.set();
  owner.join();
  CHECK_FALSE(timed_out);
  // An own deadline still ends the wait after a cancel (timed_out, not a scope timeout).
  greenev::Event never;
  bool result = true;
  auto waiter = greenev::spawn([&] {
    greenev::Timeout t(20ms);
    scope = &t;
    result = never.wait(80ms);
  });
  greenev::sleep(5ms);
  scope->cancel();
  waiter.join();
  CHECK_FALSE(result);
  test::require_hub_clean();
}

TEST_CASE("a Timeout that outlives its fiber is destroyed without touching a recycled fiber") {
  std::unique_ptr<greenev::Timeout> kept;
  greenev::spawn([&] { kept = std::make_unique<greenev::Timeout>(10s); }).join();
  // The next fiber's control block may reuse the dead one's memory; its own Timeout must fire.
  bool fired = false;
  auto f = greenev::spawn([&] {
    try {
      greenev::Timeout t(20ms);
      greenev::sleep(10s);
    } catch (const greenev::TimeoutError&) {
      fired = true;
    }
  });
  greenev::this_fiber::yield();  // f parks inside its Timeout
  kept.reset();
  f.join();
  CHECK(fired);
  test::require_hub_clean();
}

TEST_CASE("join, kill, wait and get on an empty Fiber handle throw std::logic_error") {
  greenev::Fiber<int> empty;
  CHECK_THROWS_AS(empty.join(), std::logic_error);
  CHECK_THROWS_AS(empty.kill(), std::logic_error);
  CHECK_THROWS_AS(empty.kill(greenev::no_wait), std::logic_error);
  CHECK_THROWS_AS(empty.wait(), std::logic_error);
  CHECK_THROWS_AS(empty.join(10ms), std::logic_error);
  auto f = greenev::spawn([] { return 1; });
  auto g = std::move(f);
  CHECK_THROWS_AS(f.join(), std::logic_error);
  g.detach();
  CHECK_THROWS_AS(g.join(), std::logic_error);
  test::require_hub_clean();
}

namespace {
int g_b_made = 0, g_b_gone = 0, g_a_gone = 0;
struct B {
  B() { ++g_b_made; }
  ~B() { ++g_b_gone; }
};
greenev::FiberLocal<B>* g_b = nullptr;
struct A {
  ~A() {
    ++g_a_gone;
    (void)g_b->get();  // touches another FiberLocal during teardown (creates its slot)
  }
};
}  // namespace

TEST_CASE("a FiberLocal destructor that touches another FiberLocal: no use-after-free, nothing leaked") {
  greenev::FiberLocal<A> a;
  static greenev::FiberLocal<B> b;  // a later key: touching it grows the slot vector
  g_b = &b;
  g_b_made = g_b_gone = g_a_gone = 0;
  greenev::spawn([&] { (void)a.get(); }).join();
  CHECK(g_a_gone == 1);
  CHECK(g_b_made == 1);
  CHECK(g_b_gone == 1);  // the slot created during teardown was destroyed too
  test::require_hub_clean();
}

namespace {
struct Shutdown {
  int code;
};
}  // namespace

TEST_CASE("kill(exception) raises the user's exception type in the fiber; join() rethrows it") {
  bool caught_in_fiber = false;
  auto f = greenev::spawn([&] {
    try {
      greenev::sleep(10s);
    } catch (const Shutdown& s) {
      caught_in_fiber = s.code == 3;
      throw;
    }
  });
  greenev::this_fiber::yield();
  f.kill(Shutdown{3});
  CHECK(caught_in_fiber);
  CHECK(f.ready());
  CHECK_FALSE(f.killed());
  CHECK_THROWS_AS(f.join(), Shutdown);
  // A fiber that handles it carries on to its own end.
  auto g = greenev::spawn([] {
    try {
      greenev::sleep(10s);
    } catch (const std::runtime_error&) {
      return 1;
    }
    return 0;
  });
  greenev::this_fiber::yield();
  g.kill(std::runtime_error("stop"));
  CHECK(g.join() == 1);
  test::require_hub_clean();
}

TEST_CASE("spawn_later runs fn after the delay; killed before it, fn never runs") {
  auto t0 = std::chrono::steady_clock::now();
  auto f = greenev::spawn_later(30ms, [](int x) { return x * 2; }, 21);
  CHECK(f.join() == 42);
  CHECK(test::ms_since(t0) >= 25);
  bool ran = false;
  auto g = greenev::spawn_later(1s, [&] { ran = true; });
  greenev::this_fiber::yield();
  g.kill();
  CHECK_FALSE(ran);
  test::require_hub_clean();
}

TEST_CASE("this_fiber::check_interrupt raises a pending kill or an expired Timeout at once") {
  greenev::this_fiber::check_interrupt();  // nothing pending: returns
  bool timed_out = false;
  try {
    greenev::Timeout t(1ms);
    while (!t.expired()) {
    }
    greenev::this_fiber::check_interrupt();
  } catch (const greenev::TimeoutError&) {
    timed_out = true;
  }
  CHECK(timed_out);
  bool after_kill = false;
  auto f = greenev::spawn([&] {
    greenev::this_fiber::yield();  // the kill is requested while it is ready, not parked
    greenev::this_fiber::check_interrupt();
    after_kill = true;
  });
  greenev::this_fiber::yield();
  f.kill(greenev::no_wait);
  f.wait();
  CHECK(f.killed());
  CHECK_FALSE(after_kill);
  test::require_hub_clean();
}
