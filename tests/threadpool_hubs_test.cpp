// Several hubs (one per std::thread) sharing the default pool and a user pool.
#include "test_support.hpp"

#include <greenev/threadpool.hpp>

#include <atomic>
#include <thread>

using namespace std::chrono_literals;

TEST_CASE("hubs on four threads share the default pool and a user pool") {
  greenev::ThreadPool shared(3, 8);
  std::atomic<long> total{0};
  std::atomic<int> unclean{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      std::vector<greenev::Fiber<long>> fs;
      for (int f = 0; f < 20; ++f)
        fs.push_back(greenev::spawn([&, t, f] {
          long s = 0;
          for (int k = 0; k < 25; ++k) {
            const int v = t * 10000 + f * 100 + k;
            s += (k % 2 ? greenev::run_blocking([v] { return v; }) : shared.run([v] { return v; }));
          }
          return s;
        }));
      long sum = 0;
      for (auto& f : fs) sum += f.join();
      total += sum;
      greenev::this_fiber::yield();
      auto st = greenev::hub_stats();
      if (st.fibers_alive != 0 || st.active_watchers != 0) ++unclean;
    });
  for (auto& t : ts) t.join();
  long expect = 0;
  for (int t = 0; t < 4; ++t)
    for (int f = 0; f < 20; ++f)
      for (int k = 0; k < 25; ++k) expect += t * 10000 + f * 100 + k;
  CHECK(total.load() == expect);
  CHECK(unclean.load() == 0);
  test::require_hub_clean();
}

TEST_CASE("a thread whose hub abandoned a job exits before the job finishes") {
  auto finished = std::make_shared<std::atomic<bool>>(false);
  std::thread th([finished] {
    auto r = greenev::with_timeout(10ms, [finished] {
      greenev::run_blocking([finished] {
        std::this_thread::sleep_for(100ms);
        finished->store(true);
      });
    });
    CHECK_FALSE(r);
  });  // the thread's completion port closes; the late result is dropped by the worker
  th.join();
  for (int i = 0; i < 1000 && !finished->load(); ++i) greenev::sleep(5ms);  // generous: loaded CI
  CHECK(finished->load());
  greenev::sleep(10ms);
  test::require_hub_clean();
}

TEST_CASE("fibers on two hubs time out and get killed while sharing one busy pool") {
  greenev::ThreadPool pool(2, 2);
  std::atomic<int> timeouts{0}, results{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([&] {
      std::vector<greenev::Fiber<void>> fs;
      for (int i = 0; i < 10; ++i)
        fs.push_back(greenev::spawn([&, i] {
          auto r = greenev::with_timeout(std::chrono::milliseconds(i % 2 ? 2000 : 5), [&] {
            return pool.run([] {
              std::this_thread::sleep_for(15ms);
              return 1;
            });
          });
          (r ? results : timeouts) += 1;
        }));
      fs.push_back(greenev::spawn([&] { pool.run([] { std::this_thread::sleep_for(30ms); }); }));
      greenev::sleep(3ms);
      fs.back().kill();
      for (auto& f : fs) f.wait(std::chrono::seconds(5));
    });
  for (auto& t : ts) t.join();
  CHECK(timeouts.load() + results.load() == 20);
  CHECK(timeouts.load() > 0);
  CHECK(results.load() > 0);
  test::require_hub_clean();
}
