// Semaphore, BoundedSemaphore, Mutex, RecursiveMutex, Condition: behaviour, hand-off, timeouts,
// kill while waiting (no permit or ownership lost), FIFO order, std lock adaptors.
#include "test_support.hpp"

#include <greenev/lock.hpp>

#include <mutex>
#include <stdexcept>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("Semaphore admits at most its count at once and serves waiters FIFO") {
  greenev::Semaphore sem(2);
  int inside = 0, max_inside = 0;
  std::vector<int> order;
  std::vector<greenev::Fiber<void>> fs;
  for (int i = 0; i < 6; ++i) fs.push_back(greenev::spawn([&, i] {
    std::lock_guard g(sem);
    order.push_back(i);
    max_inside = std::max(max_inside, ++inside);
    greenev::sleep(1ms);
    --inside;
  }));
  for (auto& f : fs) f.join();
  CHECK(max_inside == 2);
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5});
  CHECK(sem.count() == 2);
  test::require_hub_clean();
}

TEST_CASE("Semaphore try_acquire and try_acquire_for time out without taking a permit") {
  greenev::Semaphore sem(1);
  CHECK(sem.try_acquire());
  CHECK_FALSE(sem.try_acquire());
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(sem.try_acquire_for(15ms));
  CHECK(test::ms_since(t0) >= 14);
  CHECK(sem.waiting() == 0);
  sem.release();
  CHECK(sem.count() == 1);
  CHECK(sem.try_acquire_for(1s));
  sem.release();
  test::require_hub_clean();
}

TEST_CASE("a fiber killed while waiting on a Semaphore takes no permit") {
  greenev::Semaphore sem(0);
  auto victim = greenev::spawn([&] { sem.acquire(); });
  bool other_got = false;
  auto other = greenev::spawn([&] {
    sem.acquire();
    other_got = true;
  });
  greenev::this_fiber::yield();
  CHECK(victim.wait_reason() == std::string("semaphore"));
  victim.kill();
  sem.release();
  other.join();
  CHECK(other_got);
  CHECK(sem.count() == 0);
  test::require_hub_clean();
}

TEST_CASE("a Semaphore waiter handed a permit and then killed gives the permit back as it unwinds") {
  greenev::Semaphore sem(0);
  bool acquired = false;
  auto f = greenev::spawn([&] {
    std::lock_guard g(sem);
    acquired = true;
    greenev::sleep(10s);  // the kill lands here
  });
  greenev::this_fiber::yield();
  sem.release();       // hands the permit to f (f is now ready, not running)
  f.kill(greenev::no_wait);  // killed before it runs
  f.wait();
  CHECK(acquired);
  CHECK(f.killed());
  CHECK(sem.count() == 1);  // returned by the guard
  test::require_hub_clean();
}

TEST_CASE("BoundedSemaphore rejects a release past its bound") {
  greenev::BoundedSemaphore sem(2);
  CHECK_THROWS_AS(sem.release(), std::logic_error);
  sem.acquire();
  sem.release();
  CHECK_THROWS_AS(sem.release(), std::logic_error);
  CHECK(sem.count() == 2);
  test::require_hub_clean();
}

TEST_CASE("Mutex gives exclusive access with lock_guard and unique_lock") {
  greenev::Mutex m;
  int inside = 0, max_inside = 0, total = 0;
  std::vector<greenev::Fiber<void>> fs;
  for (int i = 0; i < 20; ++i) fs.push_back(greenev::spawn([&] {
    for (int k = 0; k < 5; ++k) {
      std::unique_lock lk(m);
      max_inside = std::max(max_inside, ++inside);
      greenev::this_fiber::yield();
      ++total;
      --inside;
    }
  }));
  for (auto& f : fs) f.join();
  CHECK(max_inside == 1);
  CHECK(total == 100);
  CHECK_FALSE(m.locked());
  test::require_hub_clean();
}

TEST_CASE("Mutex hands ownership to waiters in FIFO order") {
  greenev::Mutex m;
  std::vector<int> order;
  m.lock();
  std::vector<greenev::Fiber<void>> fs;
  for (int i = 0; i < 5; ++i) fs.push_back(greenev::spawn([&, i] {
    std::lock_guard g(m);
    order.push_back(i);
  }));
  greenev::this_fiber::yield();
  CHECK(fs[0].wait_reason() == std::string("lock"));
  m.unlock();
  CHECK(m.locked());  // already handed to the first waiter
  CHECK_FALSE(m.try_lock());
  for (auto& f : fs) f.join();
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
  test::require_hub_clean();
}

TEST_CASE("Mutex unlock by a fiber that does not own it throws operation_not_permitted") {
  greenev::Mutex m;
  CHECK_THROWS_AS(m.unlock(), std::system_error);
  m.lock();
  auto f = greenev::spawn([&] {
    try {
      m.unlock();
    } catch (const std::system_error& e) {
      return e.code() == std::errc::operation_not_permitted;
    }
    return false;
  });
  CHECK(f.join());
  CHECK_THROWS_AS(m.lock(), std::system_error);  // relock by the owner: deadlock reported
  m.unlock();
  test::require_hub_clean();
}

TEST_CASE("Mutex try_lock_for times out; a killed waiter leaves the lock consistent") {
  greenev::Mutex m;
  m.lock();
  auto t = greenev::spawn([&] { return m.try_lock_for(10ms); });
  CHECK_FALSE(t.join());
  auto victim = greenev::spawn([&] { std::lock_guard g(m); });
  auto next = greenev::spawn([&] {
    std::lock_guard g(m);
    return true;
  });
  greenev::this_fiber::yield();
  victim.kill();
  m.unlock();
  CHECK(next.join());
  CHECK_FALSE(m.locked());
  test::require_hub_clean();
}

TEST_CASE("Mutex lock honours a Timeout scope") {
  greenev::Mutex m;
  m.lock();
  auto f = greenev::spawn([&] {
    greenev::Timeout t(5ms);
    std::lock_guard g(m);
  });
  CHECK_THROWS_AS(f.join(), greenev::TimeoutError);
  m.unlock();
  CHECK_FALSE(m.locked());
  test::require_hub_clean();
}

TEST_CASE("RecursiveMutex can be re-locked by its owner and is released after as many unlocks") {
  greenev::RecursiveMutex m;
  m.lock();
  m.lock();
  CHECK(m.depth() == 2);
  auto f = greenev::spawn([&] { return m.try_lock(); });
  CHECK_FALSE(f.join());
  auto g = greenev::spawn([&] {
    std::lock_guard lk(m);
    return m.depth();
  });
  greenev::this_fiber::yield();
  m.unlock();
  CHECK(m.locked());
  m.unlock();
  CHECK(g.join() == 1);
  CHECK_FALSE(m.locked());
  CHECK_THROWS_AS(m.unlock(), std::system_error);
  test::require_hub_clean();
}

TEST_CASE("Condition wait with a predicate returns once the predicate holds, with the lock held") {
  greenev::Mutex m;
  greenev::Condition cv;
  int value = 0;
  bool held_on_return = false;
  auto waiter = greenev::spawn([&] {
    std::unique_lock lk(m);
    cv.wait(lk, [&] { return value == 3; });
    held_on_return = m.owned_by_current();
  });
  for (int i = 1; i <= 3; ++i) {
    greenev::this_fiber::yield();
    std::lock_guard g(m);
    value = i;
    cv.notify_all();
  }
  waiter.join();
  CHECK(held_on_return);
  test::require_hub_clean();
}

TEST_CASE("Condition wait_for with a predicate times out holding the lock") {
  greenev::Mutex m;
  greenev::Condition cv;
  std::unique_lock lk(m);
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(cv.wait_for(lk, 15ms, [] { return false; }));
  CHECK(test::ms_since(t0) >= 14);
  CHECK(lk.owns_lock());
  CHECK(m.owned_by_current());
  CHECK(cv.wait_for(lk, 10ms) == std::cv_status::timeout);
  lk.unlock();
  test::require_hub_clean();
}

TEST_CASE("Condition notify_one wakes waiters one at a time in FIFO order") {
  greenev::Mutex m;
  greenev::Condition cv;
  std::vector<int> order;
  std::vector<greenev::Fiber<void>> fs;
  for (int i = 0; i < 4; ++i) fs.push_back(greenev::spawn([&, i] {
    std::unique_lock lk(m);
    cv.wait(lk);
    order.push_back(i);
  }));
  greenev::this_fiber::yield();
  CHECK(cv.waiting() == 4);
  for (int i = 0; i < 4; ++i) {
    cv.notify_one();
    greenev::this_fiber::yield();
    CHECK(order.size() == static_cast<std::size_t>(i + 1));
  }
  for (auto& f : fs) f.join();
  CHECK(order == std::vector<int>{0, 1, 2, 3});
  test::require_hub_clean();
}

TEST_CASE("a fiber killed in Condition::wait re-acquires the lock before it unwinds") {
  greenev::Mutex m;
  greenev::Condition cv;
  bool owned_in_unwind = false;
  struct Probe {
    greenev::Mutex& m;
    bool& out;
    ~Probe() { out = m.owned_by_current(); }
  };
  auto f = greenev::spawn([&] {
    std::unique_lock lk(m);
    Probe p{m, owned_in_unwind};
    cv.wait(lk);
  });
  greenev::this_fiber::yield();
  m.lock();  // the killed waiter must wait for us to re-acquire
  f.kill(greenev::no_wait);
  greenev::this_fiber::yield();
  CHECK_FALSE(f.ready());
  m.unlock();
  f.wait();
  CHECK(f.killed());
  CHECK(owned_in_unwind);
  CHECK_FALSE(m.locked());
  test::require_hub_clean();
}

TEST_CASE("a notified Condition waiter killed while re-acquiring the lock passes the notification on") {
  greenev::Mutex m;
  greenev::Condition cv;
  bool second_woke = false;
  auto first = greenev::spawn([&] {
    std::unique_lock lk(m);
    cv.wait(lk);
  });
  auto second = greenev::spawn([&] {
    std::unique_lock lk(m);
    cv.wait(lk);
    second_woke = true;
  });
  greenev::this_fiber::yield();
  m.lock();
  cv.notify_one();  // to `first`, which will then block re-acquiring m
  greenev::this_fiber::yield();
  first.kill(greenev::no_wait);
  m.unlock();
  first.wait();
  second.join();
  CHECK(first.killed());
  CHECK(second_woke);
  test::require_hub_clean();
}
