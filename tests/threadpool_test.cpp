// run_blocking and ThreadPool seen from one hub: round trips, concurrency, timeouts, kills, the
// bounded queue, and the nothrow variant the libc patches use.
#include "test_support.hpp"

#include <greenev/threadpool.hpp>

#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>

using namespace std::chrono_literals;

namespace {
void block_for(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }  // not a fiber sleep
}  // namespace

TEST_CASE("run_blocking returns the value, passes arguments, and rethrows the exception") {
  CHECK(greenev::run_blocking([] { return 42; }) == 42);
  CHECK(greenev::run_blocking([](int a, std::string b) { return b + std::to_string(a); }, 7, std::string("x")) == "x7");
  auto me = std::this_thread::get_id();
  CHECK(greenev::run_blocking([] { return std::this_thread::get_id(); }) != me);
  int x = 0;
  greenev::run_blocking([&x] { x = 5; });  // void; the caller waits, so a reference is fine here
  CHECK(x == 5);
  CHECK_THROWS_WITH_AS(greenev::run_blocking([]() -> int { throw std::runtime_error("boom"); }), "boom",
                       std::runtime_error);
  auto p = greenev::run_blocking([] { return std::make_unique<int>(9); });  // move-only result
  CHECK(*p == 9);
  test::require_hub_clean();
}

TEST_CASE("other fibers keep running while one waits in run_blocking") {
  test::Ticker ticker(5ms);
  auto worker = greenev::spawn([] { return greenev::run_blocking([] { block_for(150ms); return 1; }); });
  greenev::sleep(20ms);
  CHECK(std::string(worker.wait_reason() ? worker.wait_reason() : "") == "run_blocking");
  CHECK(worker.join() == 1);
  ticker.stop();
  CHECK(ticker.ticks() >= 10);  // ~25 expected; the hub was never blocked
  test::require_hub_clean();
}

TEST_CASE("100 concurrent 50 ms blocking calls take about ceil(100/size) x 50 ms") {
  const std::size_t size = greenev::default_thread_pool().size();
  auto t0 = std::chrono::steady_clock::now();
  std::vector<greenev::Fiber<int>> fs;
  for (int i = 0; i < 100; ++i)
    fs.push_back(greenev::spawn([i] { return greenev::run_blocking([i] { block_for(50ms); return i; }); }));
  long sum = 0;
  for (auto& f : fs) sum += f.join();
  const double ms = test::ms_since(t0);
  const double rounds = std::ceil(100.0 / static_cast<double>(size));
  MESSAGE("pool size ", size, ": ", ms, " ms (ideal ", rounds * 50, " ms)");
  CHECK(sum == 4950);
  CHECK(ms >= rounds * 50 * 0.9);         // really ran on `size` threads, not more
  CHECK(ms < rounds * 50 * 3 + 500);      // and on all of them
  CHECK(greenev::default_thread_pool().threads_started() <= size);
  test::require_hub_clean();
}

TEST_CASE("a Timeout while waiting returns promptly; the late result is dropped safely") {
  auto finished = std::make_shared<std::atomic<bool>>(false);
  auto witness = std::make_shared<int>(1);
  std::weak_ptr<int> watch = witness;
  auto t0 = std::chrono::steady_clock::now();
  bool timed_out = false;
  try {
    greenev::Timeout t(30ms);
    greenev::run_blocking([finished, w = std::move(witness)] {
      block_for(500ms);
      finished->store(true);
      return w;  // the result keeps the witness alive until someone drops it
    });
  } catch (const greenev::TimeoutError&) {
    timed_out = true;
  }
  CHECK(timed_out);
  CHECK(test::ms_since(t0) < 400);  // well before the 500 ms job ends
  CHECK_FALSE(finished->load());
  for (int i = 0; i < 100 && !watch.expired(); ++i) greenev::sleep(10ms);  // the drain frees the job
  CHECK(finished->load());
  CHECK(watch.expired());
  test::require_hub_clean();
}

TEST_CASE("kill() while waiting returns promptly; the work finishes on its thread") {
  auto finished = std::make_shared<std::atomic<bool>>(false);
  bool unwound = false;
  auto f = greenev::spawn([&, finished] {
    struct Guard {
      bool& b;
      ~Guard() { b = true; }
    } g{unwound};
    greenev::run_blocking([finished] {
      block_for(500ms);
      finished->store(true);
    });
  });
  greenev::sleep(20ms);
  auto t0 = std::chrono::steady_clock::now();
  f.kill();
  CHECK(test::ms_since(t0) < 400);  // well before the 500 ms job ends
  CHECK(f.killed());
  CHECK(unwound);
  CHECK_FALSE(finished->load());
  for (int i = 0; i < 100 && !finished->load(); ++i) greenev::sleep(10ms);
  CHECK(finished->load());
  greenev::sleep(10ms);  // let the completion drain (nobody to wake)
  test::require_hub_clean();
}

TEST_CASE("a bounded queue parks submitters cooperatively; concurrency never exceeds the size") {
  greenev::ThreadPool pool(2, 3);
  CHECK(pool.size() == 2);
  CHECK(pool.queue_capacity() == 3);
  std::atomic<int> running{0}, peak{0};
  std::atomic<bool> gate{false};  // jobs hold their thread until the test has seen the queue
  std::vector<greenev::Fiber<int>> fs;
  for (int i = 0; i < 20; ++i)
    fs.push_back(greenev::spawn([&, i] {
      return pool.run([&, i] {
        int now = ++running;
        for (int p = peak.load(); now > p && !peak.compare_exchange_weak(p, now);) {}
        while (!gate.load()) block_for(1ms);
        --running;
        return i;
      });
    }));
  // Seeing them parked from this fiber is itself the proof that they park and do not block the
  // thread. Poll (no fixed sleep): under TSan each fiber's first switch alone takes ~10 ms.
  auto count_queued = [&] {
    int n = 0;
    for (auto& f : fs)
      if (f.wait_reason() && std::string(f.wait_reason()) == "run_blocking_queued") ++n;
    return n;
  };
  int queued = 0;
  for (auto t0 = std::chrono::steady_clock::now(); (queued < 15 || running.load() < 2) && test::ms_since(t0) < 10000; queued = count_queued())
    greenev::sleep(1ms);
  CHECK(queued >= 15);  // at most 3 admitted (2 of them running); the rest wait for a slot, parked
  CHECK(running.load() == 2);
  gate = true;
  int sum = 0;
  for (auto& f : fs) sum += f.join();
  CHECK(sum == 190);
  CHECK(peak.load() == 2);
  CHECK(pool.threads_started() == 2);
  test::require_hub_clean();
}

TEST_CASE("a waiter that gives up before its job starts withdraws it: it never runs") {
  greenev::ThreadPool pool(1, 1);
  std::atomic<bool> ran{false};
  auto busy = greenev::spawn([&] { pool.run([] { block_for(150ms); }); });
  auto queued = greenev::spawn([&] { pool.run([] {}); });
  auto gives_up = greenev::spawn([&] {
    auto r = greenev::with_timeout(20ms, [&] { pool.run([&ran] { ran = true; }); });
    CHECK_FALSE(r);
  });
  auto killed = greenev::spawn([&] { pool.run([&ran] { ran = true; }); });
  greenev::sleep(10ms);
  killed.kill();
  gives_up.join();
  busy.join();
  queued.join();
  pool.run([] {});  // everything before it has been taken (FIFO)
  CHECK_FALSE(ran.load());
  test::require_hub_clean();
}

TEST_CASE("run_blocking_nothrow reports instead of throwing; the timeout is raised later") {
  using greenev::detail::Interrupt;
  using greenev::detail::WakeReason;
  int v = 0;
  CHECK(greenev::detail::run_blocking_nothrow([&v] { v = 3; }, Interrupt::deferred) == WakeReason::woken);
  CHECK(v == 3);
  auto shared = std::make_shared<std::atomic<int>>(0);
  bool raised = false;
  try {
    greenev::Timeout t(20ms);
    auto r = greenev::detail::run_blocking_nothrow([shared] {
      block_for(100ms);
      shared->store(1);
    });
    CHECK(r == WakeReason::scope_timeout);
    CHECK(shared->load() == 0);
    greenev::sleep(1ms);  // the next suspension point raises the expired scope
  } catch (const greenev::TimeoutError&) {
    raised = true;
  }
  CHECK(raised);
  for (int i = 0; i < 100 && shared->load() == 0; ++i) greenev::sleep(5ms);
  test::require_hub_clean();
}

TEST_CASE("Interrupt::deferred waits for the work, then delivers the timeout or kill") {
  using greenev::detail::Interrupt;
  using greenev::detail::WakeReason;
  char buf[16] = {};
  auto t0 = std::chrono::steady_clock::now();
  bool raised = false;
  try {
    greenev::Timeout t(10ms);
    auto r = greenev::detail::run_blocking_nothrow([&buf] {
      block_for(60ms);
      std::memcpy(buf, "filled", 7);  // writes the caller's stack: safe because deferred waits
    }, Interrupt::deferred);
    CHECK(r == WakeReason::woken);
    CHECK(std::string(buf) == "filled");
    CHECK(test::ms_since(t0) >= 55);
    greenev::sleep(1ms);
  } catch (const greenev::TimeoutError&) {
    raised = true;
  }
  CHECK(raised);

  bool completed = false;
  auto f = greenev::spawn([&] {
    char local[8] = {};
    auto r = greenev::detail::run_blocking_nothrow([&local] {
      block_for(60ms);
      local[0] = 'k';
    }, Interrupt::deferred);
    completed = r == WakeReason::woken && local[0] == 'k';
    greenev::this_fiber::yield();  // the held-back kill lands here
    completed = false;
  });
  greenev::sleep(10ms);
  f.kill();
  CHECK(f.killed());
  CHECK(completed);
  test::require_hub_clean();
}

TEST_CASE("run_blocking on a pool thread runs inline; resize changes the thread count") {
  greenev::ThreadPool pool(1);
  auto outer = pool.run([] {
    auto id = std::this_thread::get_id();
    return greenev::run_blocking([id] { return std::this_thread::get_id() == id; });
  });
  CHECK(outer);
  pool.resize(3);
  CHECK(pool.size() == 3);
  std::vector<greenev::Fiber<void>> fs;
  for (int i = 0; i < 6; ++i) fs.push_back(greenev::spawn([&] { pool.run([] { block_for(20ms); }); }));
  for (auto& f : fs) f.join();
  CHECK(pool.threads_started() == 3);
  pool.resize(1);
  CHECK(pool.size() == 1);
  for (int i = 0; i < 50 && pool.threads_started() > 1; ++i) greenev::sleep(2ms);
  CHECK(pool.threads_started() == 1);
  CHECK(pool.run([] { return 1; }) == 1);
  CHECK_THROWS_AS(pool.resize(0), std::invalid_argument);
  CHECK_THROWS_AS(greenev::ThreadPool(0), std::invalid_argument);
  test::require_hub_clean();
}
