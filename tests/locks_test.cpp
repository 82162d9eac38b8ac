// The held-lock rule (issue 7, item 13; docs/interrupts.md): pthread locks are counted per fiber,
// and a patched call made while the running fiber holds one runs in place without yielding.
#include "test_support.hpp"

#include <greenev/patches.hpp>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using greenev::patches::held_locks;

TEST_CASE("std::mutex, recursive_mutex, timed_mutex and shared_mutex are counted while held") {
  const int base = held_locks();
  std::mutex m;
  std::recursive_mutex rm;
  std::timed_mutex tm;
  std::shared_mutex sm;
  m.lock();
  CHECK(held_locks() == base + 1);
  CHECK_FALSE(m.try_lock());  // a failed try_lock acquires nothing
  CHECK(held_locks() == base + 1);
  m.unlock();
  CHECK(held_locks() == base);
  rm.lock();
  rm.lock();
  CHECK(held_locks() == base + 2);
  rm.unlock();
  rm.unlock();
  REQUIRE(tm.try_lock_for(10ms));  // pthread_mutex_clocklock
  CHECK(held_locks() == base + 1);
  CHECK_FALSE(tm.try_lock_until(std::chrono::steady_clock::now() + 1ms));  // timed out: not counted
  tm.unlock();
  sm.lock_shared();
  sm.lock_shared();
  CHECK(held_locks() == base + 2);
  sm.unlock_shared();
  sm.unlock_shared();
  sm.lock();
  CHECK(held_locks() == base + 1);
  sm.unlock();
  CHECK(held_locks() == base);
}

TEST_CASE("pthread_cond_wait keeps the count: the mutex is held before and after the wait") {
  std::mutex m;
  std::condition_variable cv;
  bool ready = false;
  std::thread t([&] {
    std::this_thread::sleep_for(20ms);
    std::lock_guard lk(m);
    ready = true;
    cv.notify_one();
  });
  const int base = held_locks();
  {
    std::unique_lock lk(m);
    cv.wait(lk, [&] { return ready; });
    CHECK(held_locks() == base + 1);
  }
  CHECK(held_locks() == base);
  t.join();
}

TEST_CASE("the count is per fiber: a fiber that switches while holding a lock keeps it to itself") {
  std::mutex m;
  int seen_by_other = -1;
  auto a = greenev::spawn([&] {
    std::lock_guard lk(m);
    greenev::sleep(20ms);  // a greenev suspension while holding a pthread lock: the fiber switches
    CHECK(held_locks() == 1);
  });
  auto b = greenev::spawn([&] { seen_by_other = held_locks(); });
  a.join();
  b.join();
  CHECK(seen_by_other == 0);
  CHECK(held_locks() == 0);
  test::require_hub_clean();
}

TEST_CASE("a patched call made while holding a std::mutex runs in place: no other fiber runs") {
  std::mutex m;
  int ran = 0;
  auto other = greenev::spawn([&] { ++ran; });  // ready: any yield would run it
  {
    std::lock_guard lk(m);
    ::usleep(30'000);  // patched, but under a lock: blocks the thread instead of yielding
    CHECK(ran == 0);
  }
  ::usleep(1000);  // no lock: yields, the other fiber runs
  CHECK(ran == 1);
  other.join();
  test::require_hub_clean();
}

TEST_CASE("a std::mutex held across a socket read in one fiber while another takes it: no deadlock") {
  auto r = test::run_child("held_lock", {"mutex_read"});
  INFO(r.out);
  CHECK_FALSE(r.signaled);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("mutex_read: ok") != std::string::npos);
}

#ifdef GREENEV_HAVE_SQLITE
TEST_CASE("two fibers sharing one sqlite3 connection with file I/O on the pool: integrity_check ok") {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = tmp && *tmp ? tmp : "/tmp";
  auto r = test::run_child("held_lock", {"sqlite", dir});
  INFO(r.out);
  CHECK_FALSE(r.signaled);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("sqlite: ok") != std::string::npos);
}
#endif
