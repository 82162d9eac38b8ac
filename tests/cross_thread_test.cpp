// Threads talking to another thread's hub; a hub per thread.
#include "test_support.hpp"

#include <atomic>
#include <thread>

using namespace std::chrono_literals;

TEST_CASE("a std::thread wakes a fiber on this hub through HubHandle::post") {
  auto hub = greenev::HubHandle::current();
  greenev::detail::WaitList wl;
  bool woken = false;
  auto waiter = greenev::spawn([&] {
    wl.wait("test_cross_thread", greenev::detail::kForever);
    woken = true;
  });
  hub.add_keepalive();  // a wake-up will come from another thread
  std::thread t([hub, &wl] {
    std::this_thread::sleep_for(20ms);
    CHECK(hub.post([&wl] { wl.notify_one(); }));
  });
  waiter.join();
  hub.release_keepalive();
  t.join();
  CHECK(woken);
  test::require_hub_clean();
}

TEST_CASE("each thread gets its own hub; fibers there run independently") {
  std::atomic<int> done{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&] {
      std::vector<greenev::Fiber<int>> fs;
      for (int j = 0; j < 100; ++j)
        fs.push_back(greenev::spawn([j] {
          greenev::sleep(5ms);
          return j;
        }));
      int sum = 0;
      for (auto& f : fs) sum += f.join();
      if (sum == 4950 && greenev::hub_stats().fibers_alive == 0) ++done;
    });
  for (auto& t : ts) t.join();
  CHECK(done == 4);
  test::require_hub_clean();
}

TEST_CASE("posting to a hub whose thread has exited returns false") {
  std::optional<greenev::HubHandle> h;
  std::thread t([&] { h = greenev::HubHandle::current(); });
  t.join();
  CHECK_FALSE(h->post([] {}));
}

TEST_CASE("many posts from several threads each run exactly once") {
  auto hub = greenev::HubHandle::current();
  int count = 0;
  hub.add_keepalive();
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&] {
      for (int j = 0; j < 250; ++j) hub.post([&] { ++count; });
    });
  for (auto& t : ts) t.join();
  auto t0 = std::chrono::steady_clock::now();
  while (count < 1000 && test::ms_since(t0) < 5000) greenev::sleep(1ms);
  hub.release_keepalive();
  CHECK(count == 1000);
  test::require_hub_clean();
}
