// Coordination primitives under adversarial orderings (issue 14): a cross-thread set racing the
// owner's destruction of the primitive, a kill landing while Condition::wait re-acquires its
// lock, over-release of a BoundedSemaphore after a hand-off, Mutex ownership across recycled
// control blocks. Races are forced with the runtime's test hooks, not left to chance.
#include "test_support.hpp"

#include <atomic>
#include <limits>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <thread>

using namespace std::chrono_literals;

namespace {
// Parks the setting thread right after it published the flag, until the owner is done with
// the primitive (destroyed it): the exact interleaving of the use-after-free.
std::atomic<int> g_stage{0};
void pause_after_publish() {
  g_stage.store(1);
  while (g_stage.load() != 2) std::this_thread::yield();
}
struct HookGuard {
  HookGuard() {
    g_stage = 0;
    greenev::detail::sync_test_hooks.after_publish = &pause_after_publish;
  }
  ~HookGuard() { greenev::detail::sync_test_hooks.after_publish = nullptr; }
};
}  // namespace

TEST_CASE("cross-thread Event::set() touches nothing of the Event once the flag is visible") {
  HookGuard hook;
  auto ev = std::make_unique<greenev::Event>(greenev::cross_thread);
  greenev::Event* raw = ev.get();
  std::thread setter([raw] { raw->set(); });
  while (g_stage.load() != 1) std::this_thread::yield();
  CHECK(ev->is_set());
  ev.reset();  // the owner saw the flag and destroyed the Event (heap: ASan sees any later touch)
  g_stage.store(2);
  setter.join();
  greenev::sleep(5ms);  // the posted wake-up runs and finds the Event gone
  test::require_hub_clean();
}

TEST_CASE("cross-thread AsyncResult::set() through a reference survives the owner dropping it") {
  HookGuard hook;
  auto owner = std::make_unique<greenev::AsyncResult<int>>(greenev::cross_thread);
  greenev::AsyncResult<int>* raw = owner.get();
  std::thread setter([raw] { raw->set(42); });  // by reference: no copy of the handle
  while (g_stage.load() != 1) std::this_thread::yield();
  CHECK(owner->ready());
  CHECK(owner->get() == 42);
  owner.reset();
  g_stage.store(2);
  setter.join();
  greenev::sleep(5ms);
  test::require_hub_clean();
}

TEST_CASE("a kill that lands while Condition::wait re-acquires the lock after a Timeout wins") {
  greenev::Mutex m;
  greenev::Condition cv;
  bool holder_release = false;
  greenev::Event holder_has_lock, release;
  // The victim waits on cv under a short Timeout; when it fires the victim must re-lock, but the
  // holder has the mutex, so it parks in lock(): that is where the kill lands.
  int timeouts_seen = 0;
  greenev::Event victim_waiting;  // ordering by events, not sleeps: TSan makes switches slow
  auto victim = greenev::spawn([&] {
    for (;;) {
      std::unique_lock lk(m);
      try {
        greenev::Timeout t(50ms);
        victim_waiting.set();  // no switch before cv.wait parks and releases m
        cv.wait(lk);
      } catch (const greenev::TimeoutError&) {
        ++timeouts_seen;  // a "log and continue" loop: only a kill may end it
      }
      lk.unlock();
      greenev::sleep(1ms);
    }
  });
  auto holder = greenev::spawn([&] {
    victim_waiting.wait();  // the victim is waiting on cv (lock released)
    std::unique_lock lk(m);
    holder_has_lock.set();
    release.wait();
    holder_release = true;
  });
  holder_has_lock.wait();
  greenev::sleep(100ms);  // the victim's Timeout fired; it is parked re-acquiring m
  CHECK(victim.wait_reason() != nullptr);
  victim.kill(greenev::no_wait);
  greenev::this_fiber::yield();
  release.set();
  holder.join();
  CHECK(holder_release);
  bool done = victim.wait(2s);
  CHECK_MESSAGE(done, "the kill was lost: the victim kept running");
  if (!done) {
    victim.kill(greenev::no_wait);  // a second kill ends it at a plain suspension point
    victim.wait();
  }
  CHECK(victim.killed());
  CHECK(timeouts_seen == 0);
  test::require_hub_clean();
}

TEST_CASE("an outer Timeout that fires while Condition::wait re-acquires is not lost") {
  greenev::Mutex m;
  greenev::Condition cv;
  greenev::Event release;
  bool outer_fired = false;
  int inner_fired = 0;
  greenev::Event victim_waiting;  // ordering by events, not sleeps: TSan makes switches slow
  auto victim = greenev::spawn([&] {
    try {
      greenev::Timeout outer(80ms);
      for (int i = 0; i < 50; ++i) {
        std::unique_lock lk(m);
        try {
          greenev::Timeout inner(20ms);
          victim_waiting.set();  // no switch before cv.wait parks and releases m
          cv.wait(lk);
        } catch (const greenev::TimeoutError& e) {
          if (e.is(outer)) throw;
          ++inner_fired;
        }
        lk.unlock();
        greenev::sleep(1ms);
      }
    } catch (const greenev::TimeoutError&) {
      outer_fired = true;
    }
  });
  auto holder = greenev::spawn([&] {
    victim_waiting.wait();
    std::unique_lock lk(m);
    release.wait();  // holds m across both deadlines: inner (20 ms) and outer (80 ms)
  });
  greenev::sleep(160ms);
  release.set();
  holder.join();
  victim.join();
  CHECK(outer_fired);
  CHECK(inner_fired <= 1);
  test::require_hub_clean();
}

TEST_CASE("BoundedSemaphore catches a double release right after a hand-off") {
  greenev::BoundedSemaphore s(1);
  s.acquire();
  auto waiter = greenev::spawn([&] {
    s.acquire();
    s.release();
  });
  greenev::this_fiber::yield();  // the waiter parks
  s.release();                   // handed to the waiter (it has not run yet)
  CHECK_THROWS_AS(s.release(), std::logic_error);  // a second release: 2 permits with a bound of 1
  waiter.join();
  CHECK(s.count() == 1);
  CHECK_THROWS_AS(s.release(), std::logic_error);
  test::require_hub_clean();
}

TEST_CASE("Semaphore counts never overflow: negative starts and huge releases") {
  greenev::Semaphore neg(-1);
  neg.release();
  CHECK(neg.count() == 0);
  neg.release();
  CHECK(neg.count() == 1);
  greenev::Semaphore big(std::numeric_limits<std::ptrdiff_t>::max() - 1);
  big.release();
  CHECK_THROWS_AS(big.release(), std::overflow_error);
  greenev::Semaphore low(std::numeric_limits<std::ptrdiff_t>::min() + 1);
  low.release(5);
  CHECK(low.count() == std::numeric_limits<std::ptrdiff_t>::min() + 6);
}

TEST_CASE("a Mutex left locked by a dead fiber is not owned by the next fiber at the same address") {
  greenev::Mutex m;
  auto locker = [&] { m.lock(); };  // finishes holding the lock (a bug, but a silent one)
  greenev::spawn(locker).join();
  // Same callable type: the same control-block size class, so the block is recycled.
  bool unlock_refused = false;
  greenev::spawn([&] {
    try {
      m.unlock();
    } catch (const std::system_error& e) {
      unlock_refused = e.code() == std::errc::operation_not_permitted;
    }
  }).join();
  CHECK(unlock_refused);
  CHECK(m.locked());
  test::require_hub_clean();
}
